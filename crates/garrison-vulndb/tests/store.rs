//! Bad input and failure handling of the store: malformed records, corrupt archives,
//! corrupt or newer databases, the update lock, KEV and EPSS.

mod common;

use garrison_model::{Distro, Ecosystem, Package, SourcePackage};
use garrison_vulndb::{
    import, import_epss, import_kev, import_with, match_packages, Db, DbError, UpdateLock,
    ZipLimits, DB_FILE,
};
use std::path::Path;

fn debian12() -> Distro {
    Distro {
        id: "debian".into(),
        version_id: Some("12".into()),
        ..Distro::default()
    }
}

fn libssl() -> Package {
    let mut p = Package::new(
        Ecosystem::Deb,
        "libssl3",
        "3.0.11-1~deb12u1",
        "/var/lib/dpkg/status",
    );
    p.source = Some(SourcePackage {
        name: "openssl".into(),
        version: None,
    });
    p
}

/// A database built from the distro fixtures, and a check that it still answers.
fn with_db() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &common::distro_fixtures()).unwrap();
    assert_answers(dir.path());
    dir
}

fn assert_answers(dir: &Path) {
    let db = Db::open(dir).unwrap();
    let m = match_packages(&db, &[libssl()], Some(&debian12())).unwrap();
    assert_eq!(m.len(), 1, "the database answers");
    assert_eq!(m[0].vulnerability.id, "DSA-5532-1");
}

fn no_temp_files(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".tmp") || n.starts_with(".download-"))
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}

#[test]
fn malformed_records_are_skipped_counted_and_named() {
    let src = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::distro_fixtures().join("DSA-5532-1.json"),
        src.path().join("good.json"),
    )
    .unwrap();
    std::fs::write(
        src.path().join("broken.json"),
        b"{\"id\": \"X-1\", \"affected\": [",
    )
    .unwrap();
    std::fs::create_dir(src.path().join("sub")).unwrap();
    std::fs::write(
        src.path().join("sub/noid.yaml"),
        b"id: ''\nsummary: no id\n",
    )
    .unwrap();
    std::fs::write(
        src.path().join("sub/v2.json"),
        b"{\"schema_version\": \"2.0.0\", \"id\": \"X-2\"}",
    )
    .unwrap();
    std::fs::write(
        src.path().join("sub/wrongtype.yml"),
        b"id: X-3\naffected: 7\n",
    )
    .unwrap();
    std::fs::write(src.path().join("notes.txt"), b"not an advisory").unwrap();
    let db = tempfile::tempdir().unwrap();
    let s = import(db.path(), src.path()).unwrap();
    assert_eq!(s.records, 1);
    let mut names: Vec<String> = s
        .skipped
        .iter()
        .map(|(n, _)| {
            Path::new(n)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["broken.json", "noid.yaml", "v2.json", "wrongtype.yml"]
    );
    assert!(s.skipped.iter().any(|(_, e)| e.contains("schema_version")));
    assert_answers(db.path());
}

#[test]
fn corrupt_zip_member_leaves_the_old_database() {
    let dir = with_db();
    let before = std::fs::read(dir.path().join(DB_FILE)).unwrap();
    let work = tempfile::tempdir().unwrap();
    let crates = common::osv_data().join("crates.io");
    let files: Vec<_> = [
        "RUSTSEC-2023-0090.json",
        "RUSTSEC-2025-0156.json",
        "RUSTSEC-2025-0063.json",
    ]
    .iter()
    .map(|f| crates.join(f))
    .collect();
    let zip_path = work.path().join("all.zip");
    common::make_zip(&zip_path, &files);
    // Sanity: the intact archive imports.
    let ok_dir = tempfile::tempdir().unwrap();
    assert_eq!(import(ok_dir.path(), &zip_path).unwrap().records, 3);

    // Flip bytes inside the second member's compressed data.
    let mut bytes = std::fs::read(&zip_path).unwrap();
    let name = b"RUSTSEC-2025-0156.json";
    let at = bytes.windows(name.len()).position(|w| w == name).unwrap() + name.len() + 40;
    for b in &mut bytes[at..at + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&zip_path, &bytes).unwrap();
    let err = import(dir.path(), &zip_path).unwrap_err();
    assert!(matches!(err, DbError::Archive { .. }), "{err}");
    assert!(err.to_string().contains("all.zip"), "{err}");
    assert_eq!(
        std::fs::read(dir.path().join(DB_FILE)).unwrap(),
        before,
        "old database untouched"
    );
    assert_answers(dir.path());
    no_temp_files(dir.path());
}

#[test]
fn zip_bomb_limits() {
    let dir = with_db();
    let work = tempfile::tempdir().unwrap();
    let big = work.path().join("GO-2099-0001.json");
    let mut record = String::from("{\"id\": \"GO-2099-0001\", \"details\": \"");
    record.push_str(&"A".repeat(200_000));
    record.push_str("\"}");
    std::fs::write(&big, record).unwrap();
    let zip_path = work.path().join("bomb.zip");
    common::make_zip(&zip_path, &[big]);
    assert!(
        std::fs::metadata(&zip_path).unwrap().len() < 10_000,
        "compresses well"
    );
    let limits = ZipLimits {
        max_member_bytes: 100_000,
        ..ZipLimits::default()
    };
    let err = import_with(dir.path(), &[&zip_path], limits).unwrap_err();
    assert!(err.to_string().contains("limit"), "{err}");
    let limits = ZipLimits {
        max_total_bytes: 100_000,
        ..ZipLimits::default()
    };
    let err = import_with(dir.path(), &[&zip_path], limits).unwrap_err();
    assert!(err.to_string().contains("limit"), "{err}");
    assert_answers(dir.path());
}

#[test]
fn truncated_or_garbage_database_gives_a_clear_error() {
    let dir = with_db();
    let path = dir.path().join(DB_FILE);
    let len = std::fs::metadata(&path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let err = Db::open(dir.path()).err().unwrap();
    assert!(matches!(err, DbError::Corrupt { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("truncated") && msg.contains("garrison db update") && msg.contains(DB_FILE),
        "{msg}"
    );

    std::fs::write(
        &path,
        b"this is not a database at all, just text that is long enough to fill a header..........",
    )
    .unwrap();
    let err = Db::open(dir.path()).err().unwrap();
    assert!(matches!(err, DbError::Corrupt { .. }), "{err}");
    std::fs::write(&path, b"").unwrap();
    assert!(matches!(Db::open(dir.path()), Err(DbError::Corrupt { .. })));

    // A rebuild replaces the corrupt file.
    import(dir.path(), &common::distro_fixtures()).unwrap();
    assert_answers(dir.path());

    let empty = tempfile::tempdir().unwrap();
    let err = Db::open(empty.path()).err().unwrap();
    assert!(
        matches!(err, DbError::Missing { .. }) && err.to_string().contains("db update"),
        "{err}"
    );
}

#[test]
fn newer_schema_is_refused_by_name() {
    let dir = with_db();
    let path = dir.path().join(DB_FILE);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
        [],
    )
    .unwrap();
    drop(conn);
    let err = Db::open(dir.path()).err().unwrap();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            DbError::NewerSchema {
                found: 99,
                supported: 1,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("99"),
        "{msg}"
    );
    // An import does not silently overwrite a newer database either.
    assert!(matches!(
        import(dir.path(), &common::distro_fixtures()),
        Err(DbError::NewerSchema { .. })
    ));
}

#[test]
fn a_second_update_is_refused_while_one_runs() {
    let dir = with_db();
    let lock = UpdateLock::acquire(dir.path()).unwrap();
    let err = import(dir.path(), &common::distro_fixtures()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DbError::Busy { .. }), "{msg}");
    assert!(
        msg.contains(&format!(
            "another update is running (pid {})",
            std::process::id()
        )),
        "{msg}"
    );
    assert!(matches!(
        UpdateLock::acquire(dir.path()),
        Err(DbError::Busy { .. })
    ));
    assert_answers(dir.path());
    drop(lock);
    import(dir.path(), &common::distro_fixtures()).unwrap();
}

#[test]
fn kev_and_epss() {
    let dir = with_db();
    let work = tempfile::tempdir().unwrap();
    let kev = work.path().join("known_exploited_vulnerabilities.json");
    std::fs::write(
        &kev,
        r#"{"title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2024.10.10",
            "dateReleased": "2024-10-10T17:12:21.6604Z", "count": 2,
            "vulnerabilities": [
              {"cveID": "CVE-2021-44228", "vendorProject": "Apache", "product": "Log4j2",
               "vulnerabilityName": "Apache Log4j2 Remote Code Execution Vulnerability", "dateAdded": "2021-12-10",
               "shortDescription": "...", "requiredAction": "...", "dueDate": "2021-12-24",
               "knownRansomwareCampaignUse": "Known", "notes": "", "cwes": ["CWE-20"]},
              {"cveID": "CVE-2023-5363", "dateAdded": "2023-11-01", "knownRansomwareCampaignUse": "Unknown"}
            ]}"#,
    )
    .unwrap();
    assert_eq!(import_kev(dir.path(), &kev).unwrap(), 2);
    let epss = work.path().join("epss_scores-2024-10-10.csv");
    std::fs::write(
        &epss,
        "#model_version:v2023.03.01,score_date:2024-10-10T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.97565,0.99996\nCVE-2023-5363,0.00123,0.47\n",
    )
    .unwrap();
    assert_eq!(import_epss(dir.path(), &epss).unwrap(), 2);
    let db = Db::open(dir.path()).unwrap();
    let k = db.kev("CVE-2021-44228").unwrap().unwrap();
    assert_eq!(k.date_added.as_deref(), Some("2021-12-10"));
    assert_eq!(k.ransomware.as_deref(), Some("Known"));
    assert!(db.kev("CVE-1999-0001").unwrap().is_none());
    let e = db.epss("CVE-2021-44228").unwrap().unwrap();
    assert_eq!((e.epss, e.percentile), (0.97565, 0.99996));
    let st = db.status().unwrap();
    assert_eq!((st.kev_entries, st.epss_entries), (2, 2));
    assert!(st.epss_model.unwrap().contains("v2023.03.01"));
    // Advisories survive the KEV/EPSS imports.
    assert_answers(dir.path());

    let bad = work.path().join("bad.csv");
    std::fs::write(&bad, "cve,epss,percentile\nCVE-2021-44228,lots,0.9\n").unwrap();
    let err = import_epss(dir.path(), &bad).unwrap_err();
    assert!(
        err.to_string().contains("bad.csv") && err.to_string().contains("line 2"),
        "{err}"
    );
    std::fs::write(&bad, "{\"vulnerabilities\": 3}").unwrap();
    let err = import_kev(dir.path(), &bad).unwrap_err();
    assert!(err.to_string().contains("KEV catalog"), "{err}");
    let db = Db::open(dir.path()).unwrap();
    assert_eq!(
        db.status().unwrap().epss_entries,
        2,
        "old data kept after a failed import"
    );
}

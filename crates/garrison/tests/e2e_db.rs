//! End to end for `garrison db`: `db update` from a mirror on loopback (the
//! osv.dev `<base>/<ecosystem>/all.zip` layout) with a conditional second run,
//! `db import --kev/--epss`, and `db status`, then a scan whose ranking uses
//! the KEV and EPSS data. Nothing leaves 127.0.0.1.

use garrison_model::ScanReport;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn garrison(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_garrison"))
        .args(args)
        .env("GARRISON_DATA_DIR", data_dir)
        .output()
        .expect("run garrison")
}

/// An all.zip of the shared crates.io advisories, in memory.
fn crates_zip() -> Vec<u8> {
    let base = std::env::var_os("GARRISON_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/data"));
    let dir = base.join("osv/crates.io");
    assert!(
        dir.is_dir(),
        "shared advisories missing at {}",
        dir.display()
    );
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        zip.start_file(name, opts).unwrap();
        zip.write_all(&std::fs::read(&p).unwrap()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// Serves `/crates.io/all.zip` with an ETag on 127.0.0.1, answering 304 to a
/// matching If-None-Match. Returns the base URL and a counter of full downloads.
fn mirror(body: Vec<u8>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let full = Arc::new(AtomicUsize::new(0));
    let counter = full.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).ok();
            let mut conditional = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if line.to_ascii_lowercase().starts_with("if-none-match:")
                    && line.contains("\"v1\"")
                {
                    conditional = true;
                }
            }
            let response = if !request_line.starts_with("GET /crates.io/all.zip ") {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            } else if conditional {
                b"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n".to_vec()
            } else {
                counter.fetch_add(1, Ordering::SeqCst);
                let mut r = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nETag: \"v1\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                r.extend_from_slice(&body);
                r
            };
            stream.write_all(&response).ok();
            let _ = reader.read(&mut [0u8; 0]);
        }
    });
    (base, full)
}

#[test]
fn update_from_a_loopback_mirror_then_kev_and_epss_rank_the_findings() {
    let data = tempfile::tempdir().unwrap();
    let (base, downloads) = mirror(crates_zip());

    let out = garrison(
        data.path(),
        &[
            "db",
            "update",
            "--source",
            &base,
            "--ecosystem",
            "crates.io",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("crates.io: downloaded"), "{text}");
    assert_eq!(downloads.load(Ordering::SeqCst), 1);

    // The second run asks conditionally and keeps the database.
    let out = garrison(
        data.path(),
        &[
            "db",
            "update",
            "--source",
            &base,
            "--ecosystem",
            "crates.io",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("unchanged"));
    assert_eq!(
        downloads.load(Ordering::SeqCst),
        1,
        "a 304 must not download again"
    );

    // An ecosystem the mirror does not have: a clear error, and the old database still answers.
    let out = garrison(
        data.path(),
        &["db", "update", "--source", &base, "--ecosystem", "PyPI"],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PyPI"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let status = garrison(data.path(), &["db", "status", "--format", "json"]);
    assert!(status.status.success());
    let st: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(st["advisories"].as_u64().unwrap() > 1000, "{st}");

    // KEV and EPSS for smallvec's CVE.
    let kev = data.path().join("kev.json");
    std::fs::write(
        &kev,
        r#"{"catalogVersion":"2026.12.01","dateReleased":"2026-12-01T00:00:00Z","count":1,"vulnerabilities":[{"cveID":"CVE-2021-25900","vendorProject":"x","product":"smallvec","dateAdded":"2024-05-01","knownRansomwareCampaignUse":"Unknown"}]}"#,
    )
    .unwrap();
    let epss = data.path().join("epss.csv");
    std::fs::write(&epss, "#model_version:v2025.03.14,score_date:2026-12-01T00:00:00Z\ncve,epss,percentile\nCVE-2021-25900,0.42,0.97\n").unwrap();
    let out = garrison(
        data.path(),
        &[
            "db",
            "import",
            "--kev",
            kev.to_str().unwrap(),
            "--epss",
            epss.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let project = workspace().join("fixtures/out/rustaudit");
    assert!(
        project.join("Cargo.lock").exists(),
        "run fixtures/rustaudit/make.sh first"
    );
    let out = garrison(
        data.path(),
        &[
            "scan",
            "fs",
            project.to_str().unwrap(),
            "--format",
            "json",
            "--exit-code",
            "0",
            "-q",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: ScanReport = serde_json::from_slice(&out.stdout).unwrap();
    let f = r
        .findings
        .iter()
        .find(|f| f.vulnerability.id == "RUSTSEC-2021-0003")
        .expect("smallvec finding");
    assert!(f.risk.kev, "{:?}", f.risk);
    assert_eq!(f.risk.epss, Some(0.42));
    assert!(
        f.risk.score >= 70.0,
        "KEV findings rank at 70 and above: {:?}",
        f.risk
    );
    assert!(
        f.risk.reasons.iter().any(|r| r.contains("KEV")),
        "{:?}",
        f.risk.reasons
    );
}

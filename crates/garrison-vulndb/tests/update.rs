//! `update` against a local HTTP server (127.0.0.1 only) serving zips built from the shared data.

mod common;

use garrison_model::{Ecosystem, FixState, Package};
use garrison_vulndb::{import, match_packages, update, Db, DbError, EcosystemUpdate, DB_FILE};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
enum Route {
    /// 200 with ETag and Last-Modified; 304 when If-None-Match matches.
    Zip {
        body: Vec<u8>,
        etag: String,
    },
    Status(u16),
    /// Announces more bytes than it sends, then closes.
    Truncated {
        body: Vec<u8>,
        claim: usize,
    },
}

/// Path and (lower-cased) headers of one request.
type Request = (String, HashMap<String, String>);

#[derive(Clone, Default)]
struct Server {
    routes: Arc<Mutex<HashMap<String, Route>>>,
    /// (path, request headers) of every request.
    log: Arc<Mutex<Vec<Request>>>,
    base: String,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = Server {
            base,
            ..Server::default()
        };
        let s = server.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut headers = HashMap::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                    }
                }
                s.log.lock().unwrap().push((path.clone(), headers.clone()));
                let route = s.routes.lock().unwrap().get(&path).cloned();
                let lm = "Wed, 21 Oct 2026 07:28:00 GMT";
                let _ = match route {
                    Some(Route::Zip { body, etag }) => {
                        if headers.get("if-none-match") == Some(&etag) {
                            write!(stream, "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n")
                        } else {
                            write!(
                                stream,
                                "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: {}\r\nETag: {etag}\r\nLast-Modified: {lm}\r\nConnection: close\r\n\r\n",
                                body.len()
                            )
                            .and_then(|_| stream.write_all(&body))
                        }
                    }
                    Some(Route::Status(code)) => write!(
                        stream,
                        "HTTP/1.1 {code} Oops\r\nContent-Length: 5\r\nConnection: close\r\n\r\noops!"
                    ),
                    Some(Route::Truncated { body, claim }) => write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {claim}\r\nConnection: close\r\n\r\n"
                    )
                    .and_then(|_| stream.write_all(&body)),
                    None => write!(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
                };
                let _ = stream.flush();
            }
        });
        server
    }

    fn route(&self, path: &str, r: Route) {
        self.routes.lock().unwrap().insert(path.to_string(), r);
    }

    fn requests(&self, path: &str) -> Vec<HashMap<String, String>> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, h)| h.clone())
            .collect()
    }
}

fn zip_of(dir: &Path, files: &[PathBuf]) -> Vec<u8> {
    let out = dir.join("tmp.zip");
    common::make_zip(&out, files);
    std::fs::read(out).unwrap()
}

fn eco_files(eco: &str) -> Vec<PathBuf> {
    common::files_in(&common::osv_data().join(eco))
}

fn wasmtime_matches(dir: &Path) -> usize {
    let db = Db::open(dir).unwrap();
    let p = Package::new(Ecosystem::Cargo, "wasmtime", "5.0.0", "/Cargo.lock");
    match_packages(&db, &[p], None).unwrap().len()
}

#[test]
fn conditional_requests_and_per_ecosystem_replacement() {
    let work = tempfile::tempdir().unwrap();
    let server = Server::start();
    server.route(
        "/crates.io/all.zip",
        Route::Zip {
            body: zip_of(work.path(), &eco_files("crates.io")),
            etag: "\"c1\"".into(),
        },
    );
    server.route(
        "/Go/all.zip",
        Route::Zip {
            body: zip_of(work.path(), &eco_files("Go")),
            etag: "\"g1\"".into(),
        },
    );
    let dir = work.path().join("db");
    let ecos = vec!["crates.io".to_string(), "Go".to_string()];

    let s = update(&dir, &server.base, &ecos).unwrap();
    assert!(s.rebuilt);
    let counts: Vec<u64> = s
        .ecosystems
        .iter()
        .map(|(_, u)| match u {
            EcosystemUpdate::Updated { summary, .. } => summary.records,
            EcosystemUpdate::Unchanged => 0,
        })
        .collect();
    assert_eq!(counts, [1206, 4291]);
    assert!(wasmtime_matches(&dir) > 0);
    let st = Db::open(&dir).unwrap().status().unwrap();
    let src = st.sources.iter().find(|s| s.name == "crates.io").unwrap();
    assert_eq!(src.etag.as_deref(), Some("\"c1\""));
    assert_eq!(
        src.last_modified.as_deref(),
        Some("Wed, 21 Oct 2026 07:28:00 GMT")
    );
    let first_build = st.built_at.clone();

    // Nothing changed: 304 for both, the file is not rewritten.
    let before = std::fs::read(dir.join(DB_FILE)).unwrap();
    let s = update(&dir, &server.base, &ecos).unwrap();
    assert!(!s.rebuilt);
    assert!(s
        .ecosystems
        .iter()
        .all(|(_, u)| *u == EcosystemUpdate::Unchanged));
    let last = server.requests("/crates.io/all.zip").pop().unwrap();
    assert_eq!(
        last.get("if-none-match").map(String::as_str),
        Some("\"c1\"")
    );
    assert_eq!(
        last.get("if-modified-since").map(String::as_str),
        Some("Wed, 21 Oct 2026 07:28:00 GMT")
    );
    assert_eq!(std::fs::read(dir.join(DB_FILE)).unwrap(), before);

    // crates.io changes (now three records): only its advisories are replaced.
    let crates = common::osv_data().join("crates.io");
    let three: Vec<PathBuf> = [
        "RUSTSEC-2025-0156.json",
        "RUSTSEC-2025-0063.json",
        "RUSTSEC-2023-0090.json",
    ]
    .iter()
    .map(|f| crates.join(f))
    .collect();
    server.route(
        "/crates.io/all.zip",
        Route::Zip {
            body: zip_of(work.path(), &three),
            etag: "\"c2\"".into(),
        },
    );
    let s = update(&dir, &server.base, &ecos).unwrap();
    assert!(s.rebuilt);
    assert_eq!(s.ecosystems[1].1, EcosystemUpdate::Unchanged);
    let st = Db::open(&dir).unwrap().status().unwrap();
    assert_eq!(st.advisories, 3 + 4291);
    assert_ne!(st.built_at, None);
    let _ = first_build;
    assert_eq!(wasmtime_matches(&dir), 1);
}

fn assert_intact(dir: &Path, before: &[u8]) {
    assert_eq!(
        std::fs::read(dir.join(DB_FILE)).unwrap(),
        before,
        "old database untouched"
    );
    let db = Db::open(dir).unwrap();
    let p = Package::new(Ecosystem::Cargo, "wasmtime", "5.0.0", "/Cargo.lock");
    let m = match_packages(&db, &[p], None).unwrap();
    let w = m
        .iter()
        .find(|m| m.vulnerability.id == "RUSTSEC-2023-0090")
        .expect("old database answers");
    assert_eq!(
        w.fix,
        FixState::Fixed {
            versions: vec!["5.0.1".into()]
        }
    );
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn failed_downloads_leave_the_old_database() {
    let work = tempfile::tempdir().unwrap();
    let server = Server::start();
    let body = zip_of(work.path(), &eco_files("crates.io"));
    server.route(
        "/crates.io/all.zip",
        Route::Zip {
            body: body.clone(),
            etag: "\"c1\"".into(),
        },
    );
    let dir = work.path().join("db");
    update(&dir, &server.base, &["crates.io".to_string()]).unwrap();
    let before = std::fs::read(dir.join(DB_FILE)).unwrap();

    server.route("/crates.io/all.zip", Route::Status(500));
    let err = update(&dir, &server.base, &["crates.io".to_string()]).unwrap_err();
    assert!(
        matches!(err, DbError::Download { .. }) && err.to_string().contains("500"),
        "{err}"
    );
    assert_intact(&dir, &before);

    server.route(
        "/crates.io/all.zip",
        Route::Truncated {
            body: body[..body.len() / 2].to_vec(),
            claim: body.len(),
        },
    );
    let err = update(&dir, &server.base, &["crates.io".to_string()]).unwrap_err();
    assert!(matches!(err, DbError::Download { .. }), "{err}");
    assert_intact(&dir, &before);

    // The first ecosystem downloads fine, the second is missing: nothing changes.
    server.route(
        "/crates.io/all.zip",
        Route::Zip {
            body: zip_of(work.path(), &eco_files("Go")[..5]),
            etag: "\"x\"".into(),
        },
    );
    let err = update(
        &dir,
        &server.base,
        &["crates.io".to_string(), "NoSuch".to_string()],
    )
    .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
    assert_intact(&dir, &before);

    server.route(
        "/crates.io/all.zip",
        Route::Zip {
            body: b"this is not a zip file".to_vec(),
            etag: "\"bad\"".into(),
        },
    );
    let err = update(&dir, &server.base, &["crates.io".to_string()]).unwrap_err();
    assert!(matches!(err, DbError::Archive { .. }), "{err}");
    assert_intact(&dir, &before);

    let junk = work.path().join("junk.json");
    std::fs::write(&junk, b"{ not json").unwrap();
    server.route(
        "/crates.io/all.zip",
        Route::Zip {
            body: zip_of(work.path(), &[junk]),
            etag: "\"junk\"".into(),
        },
    );
    let err = update(&dir, &server.base, &["crates.io".to_string()]).unwrap_err();
    assert!(
        matches!(err, DbError::EmptyDownload { skipped: 1, .. }),
        "{err}"
    );
    assert_intact(&dir, &before);
}

struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// A full disk during an update: a 1 MiB tmpfs (needs root, as CI runs).
#[test]
fn full_disk_during_update_keeps_the_old_database() {
    let work = tempfile::tempdir().unwrap();
    let mnt = work.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let st = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&mnt)
        .status()
        .expect("running mount");
    assert!(
        st.success(),
        "mounting a 1 MiB tmpfs at {} failed: this test needs root",
        mnt.display()
    );
    let _guard = Mount(mnt.clone());
    let dir = mnt.join("db");
    let crates = common::osv_data().join("crates.io");
    let small = work.path().join("small-src");
    std::fs::create_dir(&small).unwrap();
    std::fs::copy(
        crates.join("RUSTSEC-2023-0090.json"),
        small.join("RUSTSEC-2023-0090.json"),
    )
    .unwrap();
    import(&dir, &small).unwrap();
    let before = std::fs::read(dir.join(DB_FILE)).unwrap();

    let server = Server::start();
    server.route(
        "/Go/all.zip",
        Route::Zip {
            body: zip_of(work.path(), &eco_files("Go")),
            etag: "\"g\"".into(),
        },
    );
    let err = update(&dir, &server.base, &["Go".to_string()]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("No space left") || msg.contains("full"),
        "{msg}"
    );
    assert_intact(&dir, &before);
}

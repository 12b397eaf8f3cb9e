//! Bad input never crashes nor stalls a scan: special files, symlink loops, a
//! directory with many entries, a large (sparse) file, nesting past `max_depth`.

use garrison_fim::scan::{self, Mode, ScanOptions};
use garrison_fim::{Config, Key};
use std::os::unix::fs::symlink;

#[test]
fn special_files_loops_big_dirs_and_big_files_are_handled() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("many")).unwrap();
    // Special files: recorded by type and attributes, never opened.
    rustix::fs::mknodat(
        rustix::fs::CWD,
        tree.join("fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(tree.join("sock")).unwrap();
    // Symlink loops: a <-> b, and a directory link to its own parent.
    symlink("b", tree.join("a")).unwrap();
    symlink("a", tree.join("b")).unwrap();
    symlink("..", tree.join("many/up")).unwrap();
    symlink("/nonexistent/target", tree.join("dangling")).unwrap();
    // A directory with many entries.
    for i in 0..20_000 {
        std::fs::write(tree.join("many").join(format!("f{i:05}")), i.to_string()).unwrap();
    }
    // A large sparse file: streamed, never held.
    let big = std::fs::File::create(tree.join("big")).unwrap();
    big.set_len(1 << 30).unwrap();
    drop(big);
    // Nesting deeper than max_depth.
    let mut deep = tree.join("deep");
    for i in 0..6 {
        deep = deep.join(format!("d{i}"));
    }
    std::fs::create_dir_all(&deep).unwrap();

    let config = Config::parse(
        &format!("max_depth = 4\n[[watch]]\npath = \"{}\"\n", tree.display()),
        "test",
    )
    .unwrap();
    let key = Key::load_or_create(&dir.path().join("k/fim.key")).unwrap();
    let db = dir.path().join("data/baseline.db");
    let opts = ScanOptions {
        workers: Some(2),
        ..Default::default()
    };
    let r = scan::init(&config, &db, &key, &opts).unwrap();
    // tree, many + 20000 files + up, fifo, sock, a, b, dangling, big, deep, d0, d1, d2 (d2 is at max_depth: recorded, not entered).
    assert_eq!(
        r.summary.entries,
        1 + 1 + 20_000 + 1 + 2 + 3 + 1 + 4,
        "{:?}",
        r.summary
    );
    assert_eq!(r.summary.hashed, 20_001);
    assert!(r.summary.hashed_bytes >= 1 << 30);
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(
        r.problems[0].reason.contains("max_depth"),
        "{:?}",
        r.problems
    );

    let (base, stored) = scan::open_verified(&db, &key).unwrap();
    let c = scan::check(&base, &stored, Mode::Check, &opts, &key).unwrap();
    assert!(c.changes.is_empty(), "{:?}", c.changes);
    assert_eq!(c.summary.not_rehashed, 20_001);
    assert_eq!(c.summary.hashed, 0);
}

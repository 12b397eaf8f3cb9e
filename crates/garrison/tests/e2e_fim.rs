//! `garrison fim` end to end with the real binary: init on a tree; change content,
//! mode, owner and an xattr; rename, delete, add; `check` reports exactly those
//! changes; `update` accepts them; a tampered baseline fails with exit code 3.

mod common;

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    _dir: tempfile::TempDir,
    tree: PathBuf,
    data: PathBuf,
    key: PathBuf,
    config: PathBuf,
}

fn env() -> Env {
    // Under the target dir, not /tmp: a disk filesystem with user xattrs.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    for (name, text) in [
        ("a.conf", "listen = 80\npassword = hunter2\n"),
        ("b.sh", "#!/bin/sh\necho b\n"),
        ("c.txt", "c\n"),
        ("d.txt", "d\n"),
        ("sub/e.txt", "e is renamed\n"),
        ("f.txt", "f is deleted\n"),
        ("same.txt", "untouched\n"),
    ] {
        std::fs::write(tree.join(name), text).unwrap();
    }
    std::fs::set_permissions(tree.join("b.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.path().join("fim.toml");
    std::fs::write(
        &config,
        format!(
            "content_paths = [\"{t}/**\"]\n[[watch]]\npath = \"{t}\"\nseverity = \"HIGH\"\n[[class]]\nglob = \"{t}/a.conf\"\nseverity = \"CRITICAL\"\n",
            t = tree.display()
        ),
    )
    .unwrap();
    Env {
        tree,
        data: dir.path().join("data"),
        key: dir.path().join("keys/fim.key"),
        config,
        _dir: dir,
    }
}

fn garrison(env: &Env, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_garrison"))
        .arg("--data-dir")
        .arg(&env.data)
        .args(args)
        .env("GARRISON_FIM_KEY", &env.key)
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    rustix::fs::lsetxattr(path, name, value, rustix::fs::XattrFlags::empty()).unwrap();
}

/// (change, path relative to the tree, attributes) of each reported change, sorted.
fn summary(report: &Value, tree: &Path) -> Vec<(String, String, Vec<String>)> {
    let t = tree.display().to_string();
    let mut v: Vec<_> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut attrs: Vec<String> = c["attributes"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| x["attribute"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            attrs.sort();
            (
                c["change"].as_str().unwrap().to_string(),
                c["path"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches(&t)
                    .to_string(),
                attrs,
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn check_reports_exactly_the_changes_made() {
    let env = env();
    let init = garrison(
        &env,
        &[
            "fim",
            "init",
            "--config",
            env.config.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let r = json(&init);
    assert_eq!(r["summary"]["entries"], 9, "{r}"); // tree, sub, 7 files
    let key_mode = std::fs::metadata(&env.key).unwrap().permissions().mode() & 0o777;
    assert_eq!(key_mode, 0o600);

    // Nothing changed yet: exit 0, no changes, nothing rehashed.
    let quiet = garrison(&env, &["fim", "check", "--format", "json"]);
    assert_eq!(
        quiet.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&quiet.stdout)
    );
    let q = json(&quiet);
    assert_eq!(q["changes"].as_array().unwrap().len(), 0);
    assert_eq!(q["summary"]["not_rehashed"], 7);
    assert_eq!(q["summary"]["hashed"], 0);

    let t = &env.tree;
    std::fs::write(t.join("a.conf"), "listen = 8080\npassword = swordfish\n").unwrap();
    std::fs::set_permissions(t.join("b.sh"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::lchown(t.join("c.txt"), Some(4321), Some(4321)).unwrap();
    set_xattr(&t.join("d.txt"), "user.fim-test", b"tagged");
    std::fs::rename(t.join("sub/e.txt"), t.join("e-moved.txt")).unwrap();
    std::fs::remove_file(t.join("f.txt")).unwrap();
    std::fs::write(t.join("g.txt"), "g is new\n").unwrap();

    let s = |c: &str, p: &str, a: &[&str]| {
        (
            c.to_string(),
            p.to_string(),
            a.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        )
    };
    let expected = vec![
        s("added", "/g.txt", &[]),
        s("modified", "/a.conf", &["ctime", "hash", "mtime", "size"]),
        s("modified", "/d.txt", &["ctime", "xattrs"]),
        s("permissions", "/b.sh", &["ctime", "mode"]),
        s("permissions", "/c.txt", &["ctime", "group", "owner"]),
        s("removed", "/f.txt", &[]),
        s("renamed", "/e-moved.txt", &[]),
    ];
    for full in [false, true] {
        let mut args = vec!["fim", "check", "--format", "json"];
        if full {
            args.push("--full");
        }
        let out = garrison(&env, &args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "changes fail the gate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r = json(&out);
        assert_eq!(summary(&r, t), expected, "full = {full}: {r:#}");
        let changes = r["changes"].as_array().unwrap();
        // Ordered by severity: the CRITICAL class first.
        assert_eq!(changes[0]["severity"], "CRITICAL");
        assert!(changes[0]["path"].as_str().unwrap().ends_with("a.conf"));
        let diff = changes[0]["diff"].as_str().unwrap();
        assert!(
            diff.contains("-listen = 80\n") && diff.contains("+listen = 8080\n"),
            "{diff}"
        );
        assert!(
            !diff.contains("hunter2") && !diff.contains("swordfish"),
            "secrets leak: {diff}"
        );
        let renamed = changes.iter().find(|c| c["change"] == "renamed").unwrap();
        assert!(renamed["from"].as_str().unwrap().ends_with("/sub/e.txt"));
        let mode = changes
            .iter()
            .find(|c| c["path"].as_str().unwrap().ends_with("b.sh"))
            .unwrap();
        let m = mode["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["attribute"] == "mode")
            .unwrap();
        assert_eq!(
            (m["old"].as_str(), m["new"].as_str()),
            (Some("0755"), Some("0700"))
        );
        let x = changes
            .iter()
            .find(|c| c["path"].as_str().unwrap().ends_with("d.txt"))
            .unwrap();
        let xa = x["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["attribute"] == "xattrs")
            .unwrap();
        assert_eq!(xa["new"], "user.fim-test=tagged");
        if full {
            assert_eq!(r["summary"]["not_rehashed"], 0);
        } else {
            // Every change above moves ctime, so only the untouched file is not rehashed.
            assert_eq!(r["summary"]["not_rehashed"], 1, "{r}");
            assert_eq!(r["summary"]["hashed"], 6, "{r}");
        }
    }
    // The table names the changes and the skipped rehashes.
    let table = garrison(&env, &["fim", "check"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("renamed") && text.contains("from ") && text.contains("e-moved.txt"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&table.stderr)
        .contains("not rehashed (inode, size, mtime and ctime unchanged"));

    // diff FILE: one file's attributes and content diff.
    let d = garrison(
        &env,
        &[
            "fim",
            "diff",
            t.join("a.conf").to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(d.status.code(), Some(1));
    let d = json(&d);
    assert_eq!(d["change"]["change"], "modified");
    assert!(d["change"]["diff"]
        .as_str()
        .unwrap()
        .contains("+listen = 8080"));
    let same = garrison(&env, &["fim", "diff", t.join("same.txt").to_str().unwrap()]);
    assert_eq!(same.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&same.stdout).contains("unchanged"));

    // update accepts them all; then nothing is reported.
    let up = garrison(&env, &["fim", "update", "--format", "json"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert_eq!(json(&up)["changes"].as_array().unwrap().len(), 7);
    let after = garrison(&env, &["fim", "check", "--format", "json"]);
    assert_eq!(after.status.code(), Some(0));
    assert_eq!(json(&after)["changes"].as_array().unwrap().len(), 0);
}

#[test]
fn a_tampered_baseline_is_reported_and_the_run_fails() {
    let env = env();
    let init = garrison(
        &env,
        &["fim", "init", "--config", env.config.to_str().unwrap()],
    );
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let db = env.data.join("fim/baseline.db");
    let saved = std::fs::read(&db).unwrap();
    // An intruder swaps their trojan's hash into the baseline.
    std::fs::write(env.tree.join("b.sh"), "#!/bin/sh\nevil\n").unwrap();
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let n = conn
            .execute(
                "UPDATE baseline SET hash = 'blake3:00', size = 16 WHERE path LIKE '%/b.sh'",
                [],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    let out = garrison(&env, &["fim", "check"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TAMPERED") && err.contains("does not match its MAC"),
        "{err}"
    );

    // An older, validly sealed copy put back after an update is caught too.
    std::fs::write(&db, &saved).unwrap();
    let up = garrison(&env, &["fim", "update"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    std::fs::write(&db, &saved).unwrap();
    let out = garrison(&env, &["fim", "check"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("older or foreign copy"));

    // A key others can read is refused; a missing baseline says what to do.
    std::fs::set_permissions(&env.key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = garrison(&env, &["fim", "check"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
    std::fs::set_permissions(&env.key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::remove_file(&db).unwrap();
    let out = garrison(&env, &["fim", "check"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("garrison fim init"));
}

#[test]
fn a_bad_config_is_refused_with_its_name() {
    let env = env();
    std::fs::write(
        &env.config,
        "[[watch]]\npath = \"/etc\"\nfolow_symlinks = true\n",
    )
    .unwrap();
    let out = garrison(
        &env,
        &["fim", "init", "--config", env.config.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("fim.toml") && err.contains("folow_symlinks"),
        "{err}"
    );
}

/// Files this user cannot read are reported and skipped; their other attributes are still recorded.
#[test]
fn unreadable_files_are_reported_not_fatal() {
    let env = env();
    std::fs::write(env.tree.join("secret"), "x").unwrap();
    std::fs::set_permissions(
        env.tree.join("secret"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    // Root reads everything: run as nobody (setpriv), with a tree nobody can enter.
    let is_root = rustix::process::geteuid().is_root();
    let mut cmd = if is_root {
        let all = env._dir.path();
        let mut p = all.to_path_buf();
        while let Some(parent) = p.parent() {
            // Let nobody traverse to the tree (the temp dirs are 0700).
            let m = std::fs::metadata(&p).unwrap().permissions().mode();
            if m & 0o001 == 0 && p.starts_with(env!("CARGO_TARGET_TMPDIR")) {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m | 0o001)).unwrap();
            }
            p = parent.to_path_buf();
        }
        std::fs::set_permissions(all, std::fs::Permissions::from_mode(0o777)).unwrap();
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_garrison"),
        ]);
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_garrison"))
    };
    let out = cmd
        .arg("--data-dir")
        .arg(&env.data)
        .args([
            "fim",
            "init",
            "--format",
            "json",
            "--config",
            env.config.to_str().unwrap(),
        ])
        .env("GARRISON_FIM_KEY", &env.key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&out);
    assert_eq!(r["summary"]["entries"], 10, "{r}");
    let problems = r["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{r}");
    assert!(problems[0]["path"].as_str().unwrap().ends_with("/secret"));
    assert!(
        problems[0]["reason"]
            .as_str()
            .unwrap()
            .contains("Permission denied"),
        "{r}"
    );
}

/// Removes a file when dropped (the test's own file under /etc).
struct RemoveOnDrop(PathBuf);
impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Kills the agent if the test fails before stopping it.
struct AgentGuard(std::process::Child);
impl Drop for AgentGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn wait_for(what: &str, stderr: &Path, mut ok: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while !ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting for {what}; agent stderr:\n{}",
            std::fs::read_to_string(stderr).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn alerts(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["kind"] == "alert")
        .collect()
}

/// Root only (CI runs as root): the agent's sensor sees a test process change a
/// watched file under /etc and one in a watched tree, and its FIM alerts name the
/// process (pid, exe) and its user.
#[test]
fn the_agent_names_the_process_and_user_behind_each_change() {
    assert!(
        rustix::process::geteuid().is_root(),
        "the agent tests need root (CI runs them as root)"
    );
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&tree, std::fs::Permissions::from_mode(0o777)).unwrap();
    let world = tree.join("world-writable");
    std::fs::write(&world, "a\n").unwrap();
    std::fs::set_permissions(&world, std::fs::Permissions::from_mode(0o666)).unwrap();
    // A real /etc file of the test's own, removed at the end.
    let etc = PathBuf::from(format!("/etc/garrison-fim-e2e-{}.conf", std::process::id()));
    std::fs::write(&etc, "setting = 1\n").unwrap();
    let _cleanup = RemoveOnDrop(etc.clone());
    let config = dir.path().join("fim.toml");
    std::fs::write(
        &config,
        format!(
            "[[watch]]\npath = \"{}\"\nseverity = \"HIGH\"\n[[watch]]\npath = \"{}\"\nseverity = \"CRITICAL\"\n",
            tree.display(),
            etc.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("stream.ndjson");
    let err = dir.path().join("stderr.txt");
    let data = dir.path().join("data");
    let agent = AgentGuard(
        Command::new(env!("CARGO_BIN_EXE_garrison"))
            .arg("--data-dir")
            .arg(&data)
            .args(["agent", "--no-rules", "--fim-config"])
            .arg(&config)
            .arg("--output")
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_for("the agent's status file", &err, || {
        std::fs::read(data.join("agent/status.json"))
            .ok()
            .and_then(|t| serde_json::from_slice::<Value>(&t).ok())
            .is_some_and(|s| s["running"] == true)
    });

    // Root appends to the /etc file.
    let mut root_child = Command::new("/bin/sh")
        .args(["-c", &format!("echo 'setting = 2' >> {}", etc.display())])
        .spawn()
        .unwrap();
    let root_pid = root_child.id();
    assert!(root_child.wait().unwrap().success());
    // nobody appends to the watched tree's file.
    let mut nobody_child = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/bin/sh",
            "-c",
        ])
        .arg(format!("echo b >> {}", world.display()))
        .spawn()
        .unwrap();
    let nobody_pid = nobody_child.id();
    assert!(nobody_child.wait().unwrap().success());

    let etc_s = etc.display().to_string();
    let world_s = world.display().to_string();
    let mut by_root = None;
    let mut by_nobody = None;
    wait_for("both FIM alerts", &err, || {
        for a in alerts(&out) {
            if a["rule"] != "FIM: watched file changed" {
                continue;
            }
            if a["fields"]["fim.path"] == etc_s.as_str() {
                by_root.get_or_insert(a.clone());
            } else if a["fields"]["fim.path"] == world_s.as_str() {
                by_nobody.get_or_insert(a.clone());
            }
        }
        by_root.is_some() && by_nobody.is_some()
    });
    let (r, n) = (by_root.unwrap(), by_nobody.unwrap());
    assert_eq!(r["process"]["pid"], root_pid, "{r}");
    assert_eq!(r["process"]["user"], "root", "{r}");
    assert_eq!(r["process"]["name"], "sh", "{r}");
    assert!(r["process"]["exe"].as_str().unwrap().ends_with("sh"), "{r}");
    assert_eq!(r["priority"], "CRITICAL");
    assert_eq!(r["fields"]["fim.op"], "write");
    assert!(r["output"]
        .as_str()
        .unwrap()
        .contains(&format!("pid {root_pid}")));
    assert_eq!(n["process"]["pid"], nobody_pid, "{n}");
    assert_eq!(n["process"]["uid"], 65534, "{n}");
    assert_eq!(n["process"]["user"], "nobody", "{n}");
    assert_eq!(n["priority"], "ERROR");
    // The test's /etc file goes away with the guard; the agent stops.
    let pid = agent.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let mut agent = agent;
    assert!(
        agent.0.wait().unwrap().success(),
        "{}",
        std::fs::read_to_string(&err).unwrap_or_default()
    );
}

/// Root only: `--fim-recheck` compares the sealed baseline on a schedule inside the
/// agent, so a change made while the agent was down is alerted (once); without a
/// baseline the agent refuses to start and says to run `fim init`.
#[test]
fn the_agent_rechecks_the_baseline_on_a_schedule() {
    assert!(
        rustix::process::geteuid().is_root(),
        "the agent tests need root (CI runs them as root)"
    );
    let env = env();
    let config = env.config.to_str().unwrap().to_string();
    let init = garrison(&env, &["fim", "init", "--config", &config]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    // Changed while no agent runs.
    std::fs::write(env.tree.join("c.txt"), "c changed offline\n").unwrap();

    // No baseline where the agent looks: refused, with what to do.
    let empty = env.tree.parent().unwrap().join("empty-data");
    let refused = Command::new(env!("CARGO_BIN_EXE_garrison"))
        .arg("--data-dir")
        .arg(&empty)
        .args(["agent", "--no-rules", "--fim-recheck", "1s"])
        .env("GARRISON_FIM_KEY", &env.key)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("garrison fim init"), "{why}");

    let out = env.tree.parent().unwrap().join("stream.ndjson");
    let err = env.tree.parent().unwrap().join("stderr.txt");
    let agent = AgentGuard(
        Command::new(env!("CARGO_BIN_EXE_garrison"))
            .arg("--data-dir")
            .arg(&env.data)
            .args([
                "agent",
                "--no-rules",
                "--fim-config",
                &config,
                "--fim-recheck",
                "1s",
            ])
            .arg("--output")
            .arg(&out)
            .env("GARRISON_FIM_KEY", &env.key)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap(),
    );
    let c = env.tree.join("c.txt").display().to_string();
    let mut found = Vec::new();
    wait_for("the scheduled check's alert", &err, || {
        found = alerts(&out)
            .into_iter()
            .filter(|a| a["rule"] == "FIM: scheduled check found a change")
            .collect();
        !found.is_empty()
    });
    // Two more runs: the same change is not alerted again.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let all: Vec<Value> = alerts(&out)
        .into_iter()
        .filter(|a| a["rule"] == "FIM: scheduled check found a change")
        .collect();
    assert_eq!(all.len(), 1, "{all:?}");
    let a = &all[0];
    assert_eq!(a["fields"]["fim.path"], c.as_str(), "{a}");
    assert_eq!(a["fields"]["fim.change"], "modified", "{a}");
    assert_eq!(a["priority"], "ERROR", "{a}");
    let status: Value =
        serde_json::from_slice(&std::fs::read(env.data.join("agent/status.json")).unwrap())
            .unwrap();
    assert!(status.to_string().contains("every_seconds"), "{status}");
    let pid = agent.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let mut agent = agent;
    assert!(
        agent.0.wait().unwrap().success(),
        "{}",
        std::fs::read_to_string(&err).unwrap_or_default()
    );
}

/// Root only: watched paths inside a running container are read through
/// /proc/PID/root and reported with the container. The image comes from
/// fixtures/debian/make.sh (loaded as e2e_agent does).
#[test]
fn watched_paths_inside_a_running_container_are_checked_and_attributed() {
    assert!(
        rustix::process::geteuid().is_root(),
        "the container tests need root (CI runs them as root)"
    );
    const IMAGE: &str = "localhost/garrison-debian:12";
    common::load_fixture_image(IMAGE, "debian/debian-docker.tar", "fixtures/debian/make.sh");
    let name = format!("garrison-e2e-fim-{}", std::process::id());
    let _guard = common::PodmanGuard(name.clone());
    let run = Command::new("podman")
        .args([
            "run",
            "-d",
            "--rm",
            "--network=none",
            "--name",
            &name,
            IMAGE,
            "/bin/sh",
            "-c",
        ])
        .arg("mkdir -p /srv/garrison-fim && echo a > /srv/garrison-fim/file && exec sleep 600")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "podman run: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let cid = String::from_utf8_lossy(&run.stdout).trim().to_string();
    let exec = |script: &str| {
        let out = Command::new("podman")
            .args(["exec", &name, "/bin/sh", "-c", script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "podman exec: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // Wait until the container's setup is done.
    exec("while [ ! -s /srv/garrison-fim/file ]; do sleep 0.1; done");

    let env = env();
    std::fs::write(
        &env.config,
        format!("containers = [\"{name}\"]\n[[watch]]\npath = \"/srv/garrison-fim\"\nseverity = \"HIGH\"\n"),
    )
    .unwrap();
    let init = garrison(
        &env,
        &[
            "fim",
            "init",
            "--config",
            env.config.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let r = json(&init);
    assert_eq!(r["containers"][0]["name"], name.as_str(), "{r}");
    assert_eq!(r["containers"][0]["id"], cid.as_str(), "{r}");
    assert_eq!(
        r["summary"]["entries"], 2,
        "the directory and its file, in the container only: {r}"
    );

    exec("echo b >> /srv/garrison-fim/file; echo new > /srv/garrison-fim/added");
    let out = garrison(&env, &["fim", "check", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&out);
    let changes = r["changes"].as_array().unwrap();
    let got: Vec<(&str, &str, &str)> = changes
        .iter()
        .map(|c| {
            (
                c["change"].as_str().unwrap(),
                c["path"].as_str().unwrap(),
                c["container"]["id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("added", "/srv/garrison-fim/added", cid.as_str()),
            ("modified", "/srv/garrison-fim/file", cid.as_str()),
        ],
        "{r}"
    );
    assert_eq!(changes[0]["container"]["name"], name.as_str());
}

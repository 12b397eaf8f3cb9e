//! The enricher on a fake /proc, cgroup2 tree, host root, container root and
//! podman state: synthetic events in, enriched events out (no root needed).

use garrison_enricher::runtime::StateDirs;
use garrison_enricher::{Config, Enricher};
use garrison_event::{Event, EventData, FdType, FilePath, Process, Runtime, SCHEMA_VERSION};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const CID: &str = "6a933ba8693f368582c3e52fa5741122a1ccf096f27374e5556796c4be754c8a";
const IMAGE_ID: &str = "23c3e81e9c973406d17f1856512ae1596afc5a2a25583d90ab87713e492a9b93";

struct Fake {
    _dir: tempfile::TempDir,
    base: PathBuf,
}

impl Fake {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_path_buf();
        for d in [
            "proc",
            "host/etc",
            "ctr/etc",
            "cgroup/libpod_parent",
            "state/overlay-containers",
            "state/overlay-images",
        ] {
            std::fs::create_dir_all(base.join(d)).unwrap();
        }
        std::fs::create_dir_all(base.join(format!("cgroup/libpod_parent/libpod-{CID}"))).unwrap();
        std::fs::write(
            base.join("host/etc/passwd"),
            "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(base.join("host/etc/group"), "root:x:0:\nalice:x:1000:\n").unwrap();
        // The container's own users: 1000 is someone else there.
        std::fs::write(
            base.join("ctr/etc/passwd"),
            "root:x:0:0:root:/root:/bin/bash\nappuser:x:1000:1000::/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(base.join("ctr/etc/group"), "root:x:0:\napp:x:1000:\n").unwrap();
        std::fs::write(
            base.join("state/overlay-containers/containers.json"),
            format!(r#"[{{"id":"{CID}","names":["web"],"image":"{IMAGE_ID}","metadata":"{{\"image-name\":\"localhost/garrison-debian:12\"}}"}}]"#),
        )
        .unwrap();
        std::fs::write(base.join("state/overlay-images/images.json"), "[]").unwrap();
        Fake { _dir: dir, base }
    }

    #[allow(clippy::too_many_arguments)]
    fn process(
        &self,
        pid: u32,
        ppid: u32,
        comm: &str,
        args: &[&str],
        uid: u32,
        cgroup: &str,
        root: &str,
    ) {
        let d = self.base.join("proc").join(pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("stat"),
            format!("{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 {} 1000 200", 100 + pid),
        )
        .unwrap();
        std::fs::write(d.join("status"), format!("Name:\t{comm}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{uid}\t{uid}\t{uid}\t{uid}\n")).unwrap();
        let mut cmdline = args.join("\0");
        cmdline.push('\0');
        std::fs::write(d.join("cmdline"), cmdline).unwrap();
        std::fs::write(d.join("cgroup"), format!("1:cpu:{cgroup}\n0::{cgroup}\n")).unwrap();
        std::os::unix::fs::symlink(format!("/usr/bin/{comm}"), d.join("exe")).unwrap();
        std::os::unix::fs::symlink("/work", d.join("cwd")).unwrap();
        std::os::unix::fs::symlink(self.base.join(root), d.join("root")).unwrap();
    }

    fn remove(&self, pid: u32) {
        std::fs::remove_dir_all(self.base.join("proc").join(pid.to_string())).unwrap();
    }

    fn cgroup_id(&self, rel: &str) -> u64 {
        std::fs::metadata(self.base.join("cgroup").join(rel.trim_start_matches('/')))
            .unwrap()
            .ino()
    }

    fn enricher(&self) -> Enricher {
        let mut e = Enricher::new(Config {
            procfs: self.base.join("proc"),
            host_root: self.base.join("host"),
            cgroup2: Some(self.base.join("cgroup")),
            state: StateDirs {
                storage: vec![self.base.join("state")],
                docker: self.base.join("docker"),
            },
            ..Config::default()
        });
        e.seed();
        e
    }
}

fn event(pid: u32, uid: u32, cgroup_id: u64, data: EventData) -> Event {
    Event {
        schema: SCHEMA_VERSION,
        seq: 1,
        time_ns: 1,
        source: "test".into(),
        syscall: "x".into(),
        result: Some(0),
        errno: None,
        process: Process {
            pid,
            tid: pid,
            uid,
            gid: uid,
            euid: uid,
            egid: uid,
            comm: String::new(),
            cgroup_id,
            ..Process::default()
        },
        container: None,
        data,
    }
}

fn exec(path: &str, argv: &[&str]) -> EventData {
    EventData::Exec {
        filename: FilePath::raw(path),
        argv: argv.iter().map(|s| s.to_string()).collect(),
        argv_truncated: false,
        exe_dev: 0,
        exe_ino: 0,
        exe_memfd: false,
        exe_deleted: false,
        exe_upper_layer: false,
        stdio: [FdType::None; 3],
    }
}

#[test]
fn host_process_older_than_the_agent_gets_ancestry_and_names() {
    let f = Fake::new();
    f.process(1, 0, "init", &["/sbin/init"], 0, "/", "host");
    f.process(50, 1, "sshd", &["sshd: alice"], 0, "/", "host");
    f.process(60, 50, "bash", &["-bash"], 1000, "/", "host");
    let mut e = f.enricher();
    let root_id = f.cgroup_id("/");
    let mut ev = event(
        60,
        1000,
        root_id,
        EventData::Exit {
            code: 0,
            signal: None,
            core_dumped: false,
        },
    );
    e.enrich(&mut ev);
    let p = &ev.process;
    assert_eq!(p.user.as_deref(), Some("alice"));
    assert_eq!(p.group.as_deref(), Some("alice"));
    assert_eq!(p.exe.as_deref(), Some("/usr/bin/bash"));
    assert_eq!(p.args, vec!["-bash"]);
    assert_eq!(p.cwd.as_deref(), Some("/work"));
    assert_eq!(p.ppid, 50);
    assert!(p.start_ns.is_some());
    let names: Vec<_> = p
        .ancestors
        .iter()
        .map(|a| (a.pid, a.name.as_str()))
        .collect();
    assert_eq!(names, vec![(50, "sshd"), (1, "init")]);
    assert_eq!(p.ancestors[0].args, vec!["sshd: alice"]);
    assert_eq!(ev.container, None);
}

#[test]
fn fork_exec_exit_keep_the_tree_current_after_the_process_is_gone() {
    let f = Fake::new();
    f.process(1, 0, "init", &["/sbin/init"], 0, "/", "host");
    f.process(70, 1, "bash", &["bash"], 0, "/", "host");
    let mut e = f.enricher();
    // bash forks 71; 71 execs curl; 71 exits; /proc/71 never existed for us.
    let mut fork = event(
        70,
        0,
        1,
        EventData::Fork {
            child_pid: 71,
            child_tid: 71,
            thread: false,
        },
    );
    e.enrich(&mut fork);
    let mut ex = event(
        71,
        0,
        1,
        exec("/usr/bin/curl", &["curl", "-s", "http://127.0.0.1/"]),
    );
    ex.process.comm = "curl".into();
    e.enrich(&mut ex);
    assert_eq!(ex.process.ppid, 70);
    assert_eq!(ex.process.exe.as_deref(), Some("/usr/bin/curl"));
    assert_eq!(ex.process.args, vec!["curl", "-s", "http://127.0.0.1/"]);
    assert_eq!(
        ex.process.user.as_deref(),
        Some("root"),
        "root inherited from the parent"
    );
    let anc: Vec<_> = ex.process.ancestors.iter().map(|a| a.pid).collect();
    assert_eq!(anc, vec![70, 1]);
    // A later event of the exec'd process, then its exit: still resolvable.
    let mut open = event(
        71,
        0,
        1,
        EventData::Exit {
            code: 0,
            signal: None,
            core_dumped: false,
        },
    );
    e.enrich(&mut open);
    assert_eq!(open.process.comm, "curl");
    assert_eq!(open.process.exe.as_deref(), Some("/usr/bin/curl"));
    assert_eq!(e.stats().tree.exited, 1);
    // The parent's bash is gone from /proc too, yet it is still known.
    f.remove(70);
    let mut late = event(
        71,
        0,
        1,
        EventData::Exit {
            code: 0,
            signal: None,
            core_dumped: false,
        },
    );
    e.enrich(&mut late);
    assert_eq!(
        late.process.ancestors.first().map(|a| a.name.as_str()),
        Some("bash")
    );
    // Pruning notices live entries whose /proc is gone.
    assert_eq!(e.prune(), 1);
}

#[test]
fn container_process_gets_container_image_and_its_own_user_names() {
    let f = Fake::new();
    let cgroup = format!("/libpod_parent/libpod-{CID}");
    f.process(1, 0, "init", &["/sbin/init"], 0, "/", "host");
    f.process(
        80,
        1,
        "conmon",
        &["/usr/bin/conmon"],
        0,
        "/libpod_parent/conmon",
        "host",
    );
    f.process(81, 80, "sh", &["sh"], 1000, &cgroup, "ctr");
    let mut e = f.enricher();
    let id = f.cgroup_id(&cgroup);
    let mut ev = event(81, 1000, id, exec("/bin/touch", &["touch", "/tmp/x"]));
    ev.process.comm = "touch".into();
    e.enrich(&mut ev);
    let c = ev.container.as_ref().expect("container");
    assert_eq!(c.id, CID);
    assert_eq!(c.runtime, Runtime::Podman);
    assert_eq!(c.name.as_deref(), Some("web"));
    assert_eq!(c.image.as_deref(), Some("localhost/garrison-debian:12"));
    assert_eq!(c.image_id.as_deref(), Some(IMAGE_ID));
    assert_eq!(
        ev.process.user.as_deref(),
        Some("appuser"),
        "from the container's /etc/passwd"
    );
    assert_eq!(ev.process.group.as_deref(), Some("app"));
    assert_eq!(ev.process.ancestors[0].name, "conmon");
    // A degraded source gives no cgroup id: it is found from /proc.
    let mut deg = event(
        81,
        1000,
        0,
        EventData::Exit {
            code: 0,
            signal: None,
            core_dumped: false,
        },
    );
    e.enrich(&mut deg);
    assert_eq!(deg.process.cgroup_id, id);
    assert_eq!(deg.container.map(|c| c.id).as_deref(), Some(CID));
    // The conmon helper is not a container.
    let conmon_id = f.cgroup_id("/libpod_parent");
    let _ = conmon_id;
    let mut host = event(
        80,
        0,
        0,
        EventData::Exit {
            code: 0,
            signal: None,
            core_dumped: false,
        },
    );
    e.enrich(&mut host);
    assert_eq!(host.container, None);
    assert_eq!(host.process.user.as_deref(), Some("root"));
}

#[test]
fn a_container_created_after_the_seed_is_found_by_a_rescan() {
    let f = Fake::new();
    let mut e = f.enricher();
    let late = "f".repeat(64);
    let rel = format!("/{late}");
    std::fs::create_dir_all(f.base.join("cgroup").join(&late)).unwrap();
    let id = f.cgroup_id(&rel);
    // No /proc entry, no state: the id is found by walking the hierarchy.
    let mut ev = event(
        99,
        0,
        id,
        EventData::Exit {
            code: 0,
            signal: None,
            core_dumped: false,
        },
    );
    e.enrich(&mut ev);
    let c = ev.container.expect("container");
    assert_eq!(c.id, late);
    assert_eq!(c.runtime, Runtime::Runc);
    assert_eq!(c.image, None);
}

#[test]
fn exe_hash_is_cached_by_file_identity() {
    let f = Fake::new();
    let d = f.base.join("proc/5");
    std::fs::create_dir_all(&d).unwrap();
    let bin = f.base.join("bin-x");
    std::fs::write(&bin, b"hello").unwrap();
    std::os::unix::fs::symlink(&bin, d.join("exe")).unwrap();
    let mut e = f.enricher();
    let h = e.exe_sha256(5).unwrap();
    assert_eq!(
        h,
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    assert_eq!(e.exe_sha256(5).unwrap(), h);
    assert_eq!(e.stats().hashes, 1);
    let err = e.exe_sha256(6).unwrap_err().to_string();
    assert!(err.contains("proc/6/exe"), "{err}");
    let _ = Path::new("/");
}

#[test]
fn pid_namespace_session_leader_capabilities_login_user_and_privileged_container() {
    let f = Fake::new();
    let cgroup = format!("/libpod_parent/libpod-{CID}");
    f.process(1, 0, "init", &["/sbin/init"], 0, "/", "host");
    f.process(55, 1, "sshd", &["sshd: alice"], 0, "/", "host");
    f.process(56, 55, "bash", &["-bash"], 1000, "/", "host");
    f.process(90, 1, "sh", &["sh"], 0, &cgroup, "ctr");
    // bash: in session 56 of its own... then a child in that session; sh: pid 1 of
    // its namespace, all capabilities.
    let proc_dir = f.base.join("proc");
    std::fs::write(
        proc_dir.join("56/stat"),
        "56 (bash) S 55 56 56 34816 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 156 1000 200",
    )
    .unwrap();
    f.process(57, 56, "id", &["id"], 1000, "/", "host");
    std::fs::write(
        proc_dir.join("57/stat"),
        "57 (id) R 56 57 56 34816 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 157 1000 200",
    )
    .unwrap();
    std::fs::write(
        proc_dir.join("57/status"),
        "Name:\tid\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nNSpid:\t57\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n",
    )
    .unwrap();
    std::fs::write(
        proc_dir.join("90/status"),
        "Name:\tsh\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t90\t1\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n",
    )
    .unwrap();
    let spec = f
        .base
        .join(format!("state/overlay-containers/{CID}/userdata"));
    std::fs::create_dir_all(&spec).unwrap();
    std::fs::write(
        spec.join("config.json"),
        r#"{"process":{"capabilities":{"bounding":["CAP_CHOWN","CAP_SYS_ADMIN"]}},"linux":{"maskedPaths":[]}}"#,
    )
    .unwrap();
    let mut e = f.enricher();

    let mut ev = event(57, 1000, f.cgroup_id("/"), exec("/usr/bin/id", &["id"]));
    ev.process.comm = "id".into();
    ev.process.loginuid = Some(1000);
    e.enrich(&mut ev);
    let p = &ev.process;
    assert_eq!(p.vpid, Some(57));
    assert_eq!(
        p.sname.as_deref(),
        Some("bash"),
        "session 56 is led by bash"
    );
    assert_eq!(p.loginname.as_deref(), Some("alice"));
    assert_eq!(p.cap_effective, Some(0));
    assert_eq!(p.cap_permitted, Some(0));

    let mut ev = event(90, 0, f.cgroup_id(&cgroup), exec("/bin/sh", &["sh"]));
    ev.process.comm = "sh".into();
    e.enrich(&mut ev);
    assert_eq!(ev.process.vpid, Some(1));
    assert_eq!(ev.process.cap_effective, Some(0x1ff_ffff_ffff));
    assert_eq!(
        ev.process.sname.as_deref(),
        Some("sh"),
        "its own session leader"
    );
    let c = ev.container.expect("container");
    assert_eq!(c.privileged, Some(true));

    // A fork of a host process: the child's pid is its pid in the namespace.
    let mut fork = event(
        57,
        1000,
        f.cgroup_id("/"),
        EventData::Fork {
            child_pid: 58,
            child_tid: 58,
            thread: false,
        },
    );
    e.enrich(&mut fork);
    let mut child = event(
        58,
        1000,
        f.cgroup_id("/"),
        EventData::Exit {
            code: 0,
            signal: None,
            core_dumped: false,
        },
    );
    e.enrich(&mut child);
    assert_eq!(child.process.vpid, Some(58));
    assert_eq!(child.process.sname.as_deref(), Some("bash"));
}

fn open_event(pid: u32, ppid: u32) -> Event {
    let mut ev = event(
        pid,
        0,
        1,
        EventData::Open {
            path: FilePath::raw("/tmp/x"),
            flags: 0,
            mode: 0,
            flag_names: Vec::new(),
            created: None,
        },
    );
    ev.process.ppid = ppid;
    ev
}

#[test]
fn events_of_a_process_share_its_ancestor_chain_until_an_ancestor_changes() {
    let f = Fake::new();
    f.process(1, 0, "init", &["/sbin/init"], 0, "/", "host");
    f.process(80, 1, "bash", &["bash", "-l"], 0, "/", "host");
    f.process(81, 80, "worker", &["worker"], 0, "/", "host");
    f.process(90, 1, "other", &["other"], 0, "/", "host");
    let mut e = f.enricher();
    let mut a = open_event(81, 80);
    let mut b = open_event(81, 80);
    e.enrich(&mut a);
    e.enrich(&mut b);
    let chain = |ev: &Event| -> Vec<(u32, String, Vec<String>)> {
        ev.process
            .ancestors
            .iter()
            .map(|a| (a.pid, a.name.clone(), a.args.clone()))
            .collect()
    };
    assert_eq!(
        chain(&a),
        vec![
            (80, "bash".into(), vec!["bash".into(), "-l".into()]),
            (1, "init".into(), vec!["/sbin/init".into()])
        ]
    );
    assert!(
        garrison_event::Ancestors::ptr_eq(&a.process.ancestors, &b.process.ancestors),
        "the second event reuses the chain"
    );
    // Another process's exec does not touch this chain.
    let mut other = event(90, 0, 1, exec("/usr/bin/sleep", &["sleep", "1"]));
    other.process.comm = "sleep".into();
    e.enrich(&mut other);
    let mut c = open_event(81, 80);
    e.enrich(&mut c);
    assert!(garrison_event::Ancestors::ptr_eq(
        &a.process.ancestors,
        &c.process.ancestors
    ));
    // The parent execs something else: the child's next event names it.
    let mut ex = event(80, 0, 1, exec("/usr/bin/python3", &["python3", "app.py"]));
    ex.process.comm = "python3".into();
    e.enrich(&mut ex);
    let mut d = open_event(81, 80);
    e.enrich(&mut d);
    assert_eq!(
        chain(&d)[0],
        (
            80,
            "python3".into(),
            vec!["python3".into(), "app.py".into()]
        )
    );
    assert_eq!(
        chain(&a)[0].1,
        "bash",
        "events already out keep what was true"
    );
    // Reparented (its parent exited): the kernel's ppid is the new truth.
    let mut r = open_event(81, 1);
    e.enrich(&mut r);
    assert_eq!(
        chain(&r),
        vec![(1, "init".into(), vec!["/sbin/init".into()])]
    );
}

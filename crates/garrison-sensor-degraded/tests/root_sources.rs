//! Each degraded mechanism sees what a child process does (root: CI runs these).
//! Each test waits for its event with a generous deadline; it asserts fields,
//! never durations.

use garrison_event::{Event, EventData, EventKind, EventSource, Interest, Mechanism};
use garrison_sensor_degraded::{DegradedSource, Options};
use std::process::Command;
use std::time::{Duration, Instant};

fn require_root() {
    // SAFETY-free check: /proc/self/status names the effective uid.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1))
        .unwrap();
    assert_eq!(euid, "0", "these tests need root (CI runs them as root)");
}

/// Polls until `pred` matches an event, or fails after a generous deadline.
fn wait_for(source: &mut DegradedSource, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut found = None;
    while found.is_none() {
        assert!(
            Instant::now() < deadline,
            "no {what} event; source: {:?}",
            source.info()
        );
        source
            .poll(Duration::from_millis(100), &mut |e| {
                if found.is_none() && pred(&e) {
                    found = Some(e);
                }
            })
            .unwrap();
    }
    found.unwrap()
}

#[test]
fn proc_connector_sees_fork_exec_and_exit_of_a_child() {
    require_root();
    let mut src = DegradedSource::open(
        "test",
        Options {
            fanotify: false,
            ..Options::default()
        },
    )
    .unwrap();
    let info = src.info();
    assert!(info.degraded);
    assert_eq!(info.mechanisms, vec![Mechanism::ProcConnector], "{info:?}");
    src.set_interest(&Interest::kinds([
        EventKind::Exec,
        EventKind::Exit,
        EventKind::Fork,
    ]))
    .unwrap();
    let mut child = Command::new("/bin/sh")
        .args(["-c", "exec /bin/sleep 0.5"])
        .spawn()
        .unwrap();
    let pid = child.id();
    let exec = wait_for(&mut src, "exec of sleep", |e| {
        e.process.pid == pid
            && matches!(&e.data, EventData::Exec { argv, .. } if argv.first().map(String::as_str) == Some("/bin/sleep"))
    });
    assert_eq!(exec.source, "proc-connector");
    assert_eq!(exec.syscall, "execve");
    assert_eq!(exec.process.uid, 0);
    let EventData::Exec { filename, argv, .. } = &exec.data else {
        unreachable!()
    };
    assert_eq!(filename.path, "/usr/bin/sleep");
    assert_eq!(argv[0], "/bin/sleep");
    assert!(child.wait().unwrap().success());
    let exit = wait_for(&mut src, "exit of sleep", |e| {
        e.process.pid == pid && e.kind() == EventKind::Exit
    });
    assert_eq!(
        exit.data,
        EventData::Exit {
            code: 0,
            signal: None,
            core_dumped: false
        }
    );
    assert!(src.stats().delivered() >= 2);
}

#[test]
fn proc_polling_sees_a_longer_lived_child() {
    let mut src = DegradedSource::open(
        "test",
        Options {
            proc_connector: false,
            fanotify: false,
            poll_interval: Duration::from_millis(50),
            ..Options::default()
        },
    )
    .unwrap();
    let info = src.info();
    assert_eq!(info.mechanisms, vec![Mechanism::ProcPoll]);
    assert!(info
        .reason
        .unwrap()
        .contains("short-lived processes are missed"));
    src.set_interest(&Interest::kinds([EventKind::Exec, EventKind::Exit]))
        .unwrap();
    let mut child = Command::new("/bin/sleep").args(["3"]).spawn().unwrap();
    let pid = child.id();
    // Polling cannot tell a process caught between fork and exec (empty or the
    // parent's command line) from one that never execs: let the exec finish before
    // the first scan, so the test is about what polling sees, not about that race.
    let cmdline = format!("/proc/{pid}/cmdline");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::fs::read(&cmdline).unwrap_or_default() != b"/bin/sleep\x003\x00" {
        assert!(
            std::time::Instant::now() < deadline,
            "the child never exec'd sleep"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let exec = wait_for(&mut src, "polled exec", |e| {
        e.process.pid == pid && e.kind() == EventKind::Exec
    });
    assert_eq!(exec.source, "proc-poll");
    assert_eq!(
        exec.result, None,
        "a polled process is not a syscall's outcome"
    );
    assert_eq!(exec.process.args, vec!["/bin/sleep", "3"]);
    child.kill().unwrap();
    // not reaped before the poller looks: it finds a zombie and its wait status
    let exit = wait_for(&mut src, "polled exit", |e| {
        e.process.pid == pid && e.kind() == EventKind::Exit
    });
    child.wait().unwrap();
    assert_eq!(
        exit.data,
        EventData::Exit {
            code: 0,
            signal: Some(9),
            core_dumped: false
        }
    );
}

#[test]
fn fanotify_sees_a_file_written_by_a_child() {
    require_root();
    let mut src = DegradedSource::open(
        "test",
        Options {
            proc_connector: false,
            ..Options::default()
        },
    )
    .unwrap();
    src.set_interest(&Interest::kinds([EventKind::Open]))
        .unwrap();
    let info = src.info();
    assert!(info.mechanisms.contains(&Mechanism::Fanotify), "{info:?}");
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let file = dir.path().join("written-by-child");
    let mut child = Command::new("/bin/sh")
        .args(["-c", "echo garrison > \"$1\"", "sh", file.to_str().unwrap()])
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(child.wait().unwrap().success());
    let want = file.to_string_lossy().into_owned();
    let ev = wait_for(
        &mut src,
        "close_write",
        |e| matches!(&e.data, EventData::Open { path, .. } if path.path == want),
    );
    assert_eq!(ev.source, "fanotify");
    assert_eq!(ev.syscall, "fanotify:close_write");
    assert_eq!(ev.process.pid, pid);
    let EventData::Open { flag_names, .. } = &ev.data else {
        unreachable!()
    };
    assert_eq!(flag_names, &vec!["O_WRONLY".to_string()]);
}

//! What the engine asks of the running system: the process list (`p:` rules)
//! and command execution (`c:` rules), in one place.
//!
//! Commands run without a shell: the rule's command is split into words the
//! way a POSIX shell splits them (quotes honoured, nothing expanded, no pipes
//! or redirections), and executed directly with a clean environment
//! (`PATH=/usr/sbin:/usr/bin:/sbin:/bin`, `LC_ALL=C`), stdin from `/dev/null`,
//! in a process group of its own. When the timeout passes, the whole group
//! is killed with `SIGKILL`. A policy that needs a shell writes it
//! explicitly: `c:sh -c 'grep -h x /etc/a | sort'`.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Most bytes of each of stdout and stderr that are kept.
pub const MAX_OUTPUT: u64 = 4 << 20;

/// What a finished command printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: Option<i32>,
}

/// Why a command gave no output to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The command line could not be split (unbalanced quotes) or was empty.
    Parse(String),
    /// The program could not be started (not installed, not executable).
    Spawn(String),
    /// It ran longer than the timeout; its process group was killed.
    Timeout(Duration),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Parse(s) => write!(f, "cannot split the command: {s}"),
            RunError::Spawn(s) => write!(f, "cannot run the command: {s}"),
            RunError::Timeout(d) => write!(
                f,
                "the command ran longer than {}s and was killed (with its process group)",
                d.as_secs_f64()
            ),
        }
    }
}

/// Splits a command line into words like a POSIX shell, without expanding anything.
pub fn split_command(command: &str) -> Result<Vec<String>, RunError> {
    let words = shlex::split(command)
        .ok_or_else(|| RunError::Parse(format!("unbalanced quotes in {command:?}")))?;
    if words.is_empty() {
        return Err(RunError::Parse("empty command".into()));
    }
    Ok(words)
}

/// Runs `command` (see the module docs) and waits at most `timeout`.
pub fn run_command(command: &str, timeout: Duration) -> Result<Output, RunError> {
    let words = split_command(command)?;
    let (program, args) = words
        .split_first()
        .ok_or_else(|| RunError::Parse("empty command".into()))?;
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| RunError::Spawn(format!("{program}: {e}")))?;
    let pgid = child.id();
    let (tx, rx) = mpsc::channel::<(bool, Vec<u8>)>();
    for (is_out, pipe) in [
        (
            true,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
        (
            false,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
    ] {
        let tx = tx.clone();
        if let Some(pipe) = pipe {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut limited = pipe.take(MAX_OUTPUT);
                let _ = limited.read_to_end(&mut buf);
                // Drain the rest so that the command does not block on a full pipe.
                let mut rest = limited.into_inner();
                let _ = std::io::copy(&mut rest, &mut std::io::sink());
                let _ = tx.send((is_out, buf));
            });
        }
    }
    drop(tx);
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) => {}
            Err(e) => return Err(RunError::Spawn(format!("{program}: wait: {e}"))),
        }
        if Instant::now() >= deadline {
            kill_group(pgid);
            let _ = child.wait();
            return Err(RunError::Timeout(timeout));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // A grandchild that left the group may hold the pipes: wait only so long.
    let mut out = Output {
        stdout: Vec::new(),
        stderr: Vec::new(),
        status: status.and_then(|s| s.code()),
    };
    let grace = Instant::now() + Duration::from_secs(2);
    for _ in 0..2 {
        let left = grace.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((true, b)) => out.stdout = b,
            Ok((false, b)) => out.stderr = b,
            Err(_) => break,
        }
    }
    // Anything the command left running in its group goes too.
    kill_group(pgid);
    Ok(out)
}

/// Kills every process of the group with `SIGKILL` and waits (up to 2 s)
/// until none of them runs any more (exited, or a zombie for its parent).
fn kill_group(pgid: u32) {
    let Ok(raw) = i32::try_from(pgid) else { return };
    let Some(pid) = rustix::process::Pid::from_raw(raw) else {
        return;
    };
    if rustix::process::kill_process_group(pid, rustix::process::Signal::KILL).is_err() {
        return;
    }
    let until = Instant::now() + Duration::from_secs(2);
    while group_running(pgid) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether a process of group `pgid` is still running (not a zombie), by `/proc/*/stat`.
fn group_running(pgid: u32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.filter_map(Result::ok).any(|e| {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            return false;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        let mut rest = stat
            .rsplit_once(')')
            .map(|(_, r)| r)
            .unwrap_or("")
            .split_whitespace();
        let state = rest.next();
        let pgrp = rest.nth(1).and_then(|g| g.parse::<u32>().ok());
        pgrp == Some(pgid) && !matches!(state, Some("Z") | Some("X"))
    })
}

/// Names of the running processes: each process's `comm` and the base name
/// of its `argv[0]`, read from the host's `/proc`.
pub fn process_names() -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) {
            names.push(comm.trim_end_matches('\n').to_string());
        }
        if let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
            let argv0 = String::from_utf8_lossy(argv0);
            let base = argv0.rsplit('/').next().unwrap_or_default();
            // sshd rewrites its argv ("sshd: /usr/sbin/sshd -D [listener]").
            let base = base.split([' ', ':']).next().unwrap_or_default();
            if !base.is_empty() {
                names.push(base.to_string());
            }
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

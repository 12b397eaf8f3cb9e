//! Shared by the root-only integration tests: a running sensor and helpers that
//! run an action in a child process and wait for its events.
#![allow(dead_code)]

use garrison_event::{
    DnsDirection, Event, EventData, EventKind, EventSource, Interest, Protocol, SockAddr,
};
use garrison_sensor::Sensor;
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long to wait for an expected event before failing (a hang guard, not a
/// performance assertion).
const PATIENCE: Duration = Duration::from_secs(30);

pub struct Harness {
    pub sensor: Sensor,
    pub seen: Vec<Event>,
}

/// A sensor for `kinds`, each asked for by name (so traced even where that
/// takes raw_syscalls), with no ignored path prefixes.
pub fn start(kinds: &[EventKind]) -> Harness {
    let mut interest = Interest::kinds([]).insist_on(kinds.iter().copied());
    interest.ignore_prefixes.clear();
    start_with(interest)
}

pub fn start_with(interest: Interest) -> Harness {
    assert_eq!(
        unsafe_free_euid(),
        0,
        "the sensor tests need root (CI runs them as root)"
    );
    let sensor = Sensor::start(&interest).unwrap_or_else(|e| panic!("start the sensor: {e}"));
    Harness {
        sensor,
        seen: Vec::new(),
    }
}

fn unsafe_free_euid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

/// Debian's python3 (scripts/setup --test installs it), by path so no shim
/// (pyenv) forks in between.
pub const PYTHON: &str = "/usr/bin/python3";

/// Runs `python3 -c code` with extra args; returns its pid after it exited.
pub fn python(code: &str, args: &[&str]) -> u32 {
    let child = Command::new(PYTHON)
        .arg("-c")
        .arg(code)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python3 (scripts/setup --test installs it)");
    let pid = child.id();
    let out = child.wait_with_output().expect("wait for python3");
    assert!(
        out.status.success(),
        "python3 action failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    pid
}

/// Runs a command to completion; returns its pid.
pub fn run(cmd: &mut Command) -> u32 {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let pid = child.id();
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    pid
}

impl Harness {
    /// Polls until an event matches `pred`; panics with what was seen otherwise.
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        if let Some(e) = self.seen.iter().find(|e| pred(e)) {
            return e.clone();
        }
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            let mut batch = Vec::new();
            self.sensor
                .poll(Duration::from_millis(200), &mut |e| batch.push(e))
                .expect("poll the sensor");
            let found = batch.iter().find(|e| pred(e)).cloned();
            self.seen.extend(batch);
            if self.seen.len() > 200_000 {
                self.seen.drain(..100_000);
            }
            if let Some(e) = found {
                return e;
            }
        }
        let tail: Vec<String> = self
            .seen
            .iter()
            .rev()
            .take(40)
            .map(|e| serde_json::to_string(e).unwrap_or_default())
            .collect();
        panic!(
            "no event for {what}; last events seen:\n{}",
            tail.join("\n")
        );
    }

    /// All events of `pid` seen so far (after draining what is queued).
    pub fn of_pid(&mut self, pid: u32) -> Vec<Event> {
        loop {
            let mut batch = Vec::new();
            self.sensor
                .poll(Duration::from_millis(100), &mut |e| batch.push(e))
                .expect("poll the sensor");
            if batch.is_empty() {
                break;
            }
            self.seen.extend(batch);
        }
        self.seen
            .iter()
            .filter(|e| e.process.pid == pid)
            .cloned()
            .collect()
    }
}

/// The DNS client of `tests/common/dns_netns.py` in a network namespace of its own,
/// with its resolver on that namespace's loopback (so it can bind port 53 whatever
/// else runs). `early`: the client connects its UDP and TCP sockets, then waits
/// until `go` returns before querying (for sockets older than the sensor); the
/// queried names are `udp.`, `tcp.` and `udp6.` + `suffix`. `check` runs with the
/// client's pid once it has queried, while it is still alive and holds its sockets.
pub fn netns_dns(early: bool, suffix: &str, go: impl FnOnce(), check: impl FnOnce(u32)) {
    use std::io::{BufRead, Write};
    let script = include_str!("dns_netns.py");
    let mut child = Command::new("unshare")
        .args([
            "--net",
            "sh",
            "-c",
            "ip link set lo up && exec /usr/bin/python3 -c \"$0\" \"$@\"",
            script,
            if early { "early" } else { "now" },
            suffix,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run unshare (util-linux) and ip (iproute2)");
    let pid = child.id();
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut stdin = child.stdin.take().expect("stdin");
    let mut line = String::new();
    if early {
        out.read_line(&mut line).expect("read from the client");
        assert_eq!(line.trim(), "ready", "the netns DNS client did not start");
        go();
        stdin.write_all(b"go\n").expect("tell the client to query");
        line.clear();
    } else {
        go();
    }
    out.read_line(&mut line).expect("read from the client");
    if line.trim() == "done" {
        check(pid);
    }
    drop(stdin);
    let status = child.wait().expect("wait for the client");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    assert!(
        status.success() && line.trim() == "done",
        "netns DNS client: {status}, {line:?}\n{err}"
    );
}

/// The query and the response for `name` from `pid`, checked against the answer
/// the test resolvers give (a CNAME to itself and A 192.0.2.53).
pub fn assert_dns_exchange(
    h: &mut Harness,
    pid: u32,
    name: &str,
    proto: Protocol,
    server: SockAddr,
    id: u16,
    answers: bool,
) {
    let dirs: &[DnsDirection] = if answers {
        &[DnsDirection::Query, DnsDirection::Response]
    } else {
        &[DnsDirection::Query]
    };
    for &dir in dirs {
        let e = h.wait_for(&format!("dns {dir:?} {name}"), |e| {
            matches!(&e.data, EventData::Dns { direction, query, .. } if *direction == dir && query == name)
        });
        assert_eq!(e.process.pid, pid, "{name} {dir:?} attributed: {e:?}");
        assert_eq!(e.process.comm, "python3", "{e:?}");
        assert_eq!(e.process.uid, 0, "{e:?}");
        assert_eq!(e.syscall, "dns");
        let EventData::Dns {
            protocol,
            server: srv,
            id: qid,
            rcode,
            answers,
            ..
        } = &e.data
        else {
            unreachable!()
        };
        assert_eq!((*protocol, srv, *qid), (proto, &server, id), "{e:?}");
        if dir == DnsDirection::Response {
            assert_eq!(rcode.as_deref(), Some("NOERROR"));
            assert_eq!(answers.len(), 2, "{answers:?}");
            assert_eq!(
                (answers[1].rtype.as_str(), answers[1].data.as_str()),
                ("A", "192.0.2.53")
            );
        } else {
            assert!(answers.is_empty() && rcode.is_none(), "{e:?}");
        }
    }
}

/// The exchanges `netns_dns`'s client makes, each asserted in turn: a UDP and a
/// TCP query to 127.0.0.1, then (with `v6`) a UDP query to ::1, for the names
/// "udp.", "tcp." and "udp6." before `suffix`; the answers too with `answers`.
pub fn assert_dns_exchanges(h: &mut Harness, pid: u32, suffix: &str, v6: bool, answers: bool) {
    assert_dns_exchange(
        h,
        pid,
        &format!("udp.{suffix}"),
        Protocol::Udp,
        lo4(),
        0x5151,
        answers,
    );
    assert_dns_exchange(
        h,
        pid,
        &format!("tcp.{suffix}"),
        Protocol::Tcp,
        lo4(),
        0x5252,
        answers,
    );
    if v6 {
        assert_dns_exchange(
            h,
            pid,
            &format!("udp6.{suffix}"),
            Protocol::Udp,
            lo6(),
            0x5353,
            answers,
        );
    }
}

pub fn lo6() -> SockAddr {
    SockAddr::Inet6 {
        ip: IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        port: 53,
    }
}

pub fn lo4() -> SockAddr {
    SockAddr::Inet {
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 53,
    }
}

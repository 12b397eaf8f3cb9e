//! Network events: connect (IPv4, IPv6, unix, refused), bind, listen, accept, and
//! DNS queries and answers over UDP and TCP against a resolver on 127.0.0.1:53, in
//! a network namespace the test creates, and on sockets older than the sensor.
mod common;

use common::*;
use garrison_event::{DnsDirection, EventData, EventKind, Protocol, SockAddr};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener, UdpSocket};

fn net_kinds() -> Vec<EventKind> {
    vec![
        EventKind::Connect,
        EventKind::Accept,
        EventKind::Bind,
        EventKind::Listen,
        EventKind::Dns,
    ]
}

#[test]
fn connect_v4_v6_unix_and_refused() {
    let mut h = start(&net_kinds());
    let l4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let p4 = l4.local_addr().unwrap().port();
    let l6 = TcpListener::bind("[::1]:0").unwrap();
    let p6 = l6.local_addr().unwrap().port();
    let closed = {
        let t = TcpListener::bind("127.0.0.1:0").unwrap();
        t.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("garrison.sock");
    let _ul = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let pid = python(
        r#"
import socket, sys
p4, p6, closed, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
socket.create_connection(("127.0.0.1", p4)).close()
s = socket.socket(socket.AF_INET6); s.connect(("::1", p6)); s.close()
u = socket.socket(socket.AF_UNIX); u.connect(path); u.close()
try:
    socket.create_connection(("127.0.0.1", closed))
except ConnectionRefusedError:
    pass
"#,
        &[
            &p4.to_string(),
            &p6.to_string(),
            &closed.to_string(),
            sock.to_str().unwrap(),
        ],
    );
    // The v4 and v6 listeners may get the same port number: match the family too.
    let c4 = h.wait_for("connect v4", |e| {
        e.process.pid == pid
            && matches!(&e.data, EventData::Connect { remote: remote @ SockAddr::Inet { .. }, .. } if remote.port() == Some(p4))
    });
    assert_eq!(c4.result, Some(0));
    let EventData::Connect {
        protocol,
        local,
        remote,
    } = &c4.data
    else {
        unreachable!()
    };
    assert_eq!(*protocol, Protocol::Tcp);
    assert_eq!(
        remote,
        &SockAddr::Inet {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: p4
        }
    );
    let local = local.as_ref().expect("local address after connect");
    assert_eq!(local.ip(), Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    assert!(local.port().unwrap() > 0);
    let c6 = h.wait_for("connect v6", |e| {
        e.process.pid == pid
            && matches!(&e.data, EventData::Connect { remote: remote @ SockAddr::Inet6 { .. }, .. } if remote.port() == Some(p6))
    });
    let EventData::Connect { remote, .. } = &c6.data else {
        unreachable!()
    };
    assert_eq!(
        remote,
        &SockAddr::Inet6 {
            ip: IpAddr::V6(Ipv6Addr::LOCALHOST),
            port: p6
        }
    );
    let cu = h.wait_for("connect unix", |e| {
        e.process.pid == pid
            && matches!(
                &e.data,
                EventData::Connect {
                    remote: SockAddr::Unix { .. },
                    ..
                }
            )
    });
    let EventData::Connect {
        remote, protocol, ..
    } = &cu.data
    else {
        unreachable!()
    };
    assert_eq!(
        remote,
        &SockAddr::Unix {
            path: sock.to_str().unwrap().to_string()
        }
    );
    assert_eq!(*protocol, Protocol::Other);
    assert_eq!(cu.result, Some(0));
    let bad = h.wait_for("refused connect", |e| {
        e.process.pid == pid
            && matches!(&e.data, EventData::Connect { remote: remote @ SockAddr::Inet { .. }, .. } if remote.port() == Some(closed))
    });
    assert_eq!(bad.errno.as_deref(), Some("ECONNREFUSED"));
}

#[test]
fn bind_listen_accept() {
    let mut h = start(&net_kinds());
    let port = {
        let t = TcpListener::bind("127.0.0.1:0").unwrap();
        t.local_addr().unwrap().port()
    };
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    // the child listens, tells us it is ready through its stdout, accepts once
    let mut child = std::process::Command::new(PYTHON)
        .args([
            "-c",
            r#"
import socket, sys
port, taken = int(sys.argv[1]), int(sys.argv[2])
try:
    socket.socket().bind(("127.0.0.1", taken))
except OSError:
    pass
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(7)
print("ready", flush=True)
c, _ = s.accept(); c.recv(1); c.close()
"#,
            &port.to_string(),
            &taken_port.to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut out = child.stdout.take().unwrap();
    let mut ready = [0u8; 6];
    out.read_exact(&mut ready).unwrap();
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let my_port = conn.local_addr().unwrap().port();
    conn.write_all(b"x").unwrap();
    assert!(child.wait().unwrap().success());
    let b = h.wait_for("bind", |e| {
        e.process.pid == pid
            && matches!(&e.data, EventData::Bind { local, .. } if local.port() == Some(port))
    });
    assert_eq!(b.result, Some(0));
    assert_eq!(
        b.data,
        EventData::Bind {
            protocol: Protocol::Tcp,
            local: SockAddr::Inet {
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port
            },
        }
    );
    let bad = h.wait_for("bind of a taken port", |e| {
        e.process.pid == pid
            && matches!(&e.data, EventData::Bind { local, .. } if local.port() == Some(taken_port))
    });
    assert_eq!(bad.errno.as_deref(), Some("EADDRINUSE"));
    let l = h.wait_for("listen", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Listen { .. })
    });
    let EventData::Listen {
        protocol,
        local,
        backlog,
    } = &l.data
    else {
        unreachable!()
    };
    assert_eq!((*protocol, *backlog), (Protocol::Tcp, 7));
    assert_eq!(local.as_ref().and_then(|a| a.port()), Some(port));
    let a = h.wait_for("accept", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Accept { .. })
    });
    assert!(a.result.unwrap() >= 3);
    let EventData::Accept {
        local,
        remote,
        protocol,
    } = &a.data
    else {
        unreachable!()
    };
    assert_eq!(*protocol, Protocol::Tcp);
    assert_eq!(local.as_ref().and_then(|a| a.port()), Some(port));
    assert_eq!(
        remote,
        &Some(SockAddr::Inet {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: my_port
        })
    );
}

/// A tiny authoritative resolver on 127.0.0.1:53: answers any A query with two
/// records (a CNAME and an A).
fn answer(query: &[u8]) -> Vec<u8> {
    let mut r = query.to_vec();
    r[2] = 0x81;
    r[3] = 0x80;
    r[7] = 2; // ANCOUNT
    r.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 30, 0, 2, 0xc0, 12]);
    r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 53]);
    r
}

#[test]
fn dns_queries_and_answers_over_udp_and_tcp() {
    let mut h = start(&net_kinds());
    // from packets: no syscall is traced for DNS
    let a = h.sensor.attachment();
    assert!(
        a.dns_source.as_deref().unwrap_or("").starts_with("packets"),
        "{a:?}"
    );
    for call in ["sendto", "recvfrom", "sendmsg", "recvmsg", "write", "read"] {
        assert!(!a.tracepoints.contains(&call.to_string()), "{call}: {a:?}");
    }
    let udp =
        UdpSocket::bind("127.0.0.1:53").expect("bind 127.0.0.1:53/udp (is a resolver running?)");
    let tcp = TcpListener::bind("127.0.0.1:53").expect("bind 127.0.0.1:53/tcp");
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            let _ = udp.send_to(&answer(&buf[..n]), from);
        }
    });
    std::thread::spawn(move || {
        for conn in tcp.incoming().flatten() {
            let mut conn = conn;
            let mut len = [0u8; 2];
            if conn.read_exact(&mut len).is_err() {
                continue;
            }
            let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
            if conn.read_exact(&mut q).is_err() {
                continue;
            }
            let a = answer(&q);
            let mut out = (a.len() as u16).to_be_bytes().to_vec();
            out.extend_from_slice(&a);
            let _ = conn.write_all(&out);
        }
    });
    let pid = python(
        r#"
import socket, struct
def query(name, qid):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00\x00\x01\x00\x01"
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(query("udp.garrison.test", 0x1111), ("127.0.0.1", 53))
u.recvfrom(512)
t = socket.create_connection(("127.0.0.1", 53))
q = query("tcp.garrison.test", 0x2222)
t.sendall(struct.pack(">H", len(q)) + q)
data = b""
while len(data) < 2 or len(data) < 2 + struct.unpack(">H", data[:2])[0]:
    chunk = t.recv(4096)
    if not chunk:
        break
    data += chunk
# connected sockets with plain write()/read(), and writev() with the TCP length
# prefix in its own iovec (as glibc's resolver sends it)
import os
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.connect(("127.0.0.1", 53))
os.write(c.fileno(), query("udpw.garrison.test", 0x3333))
os.read(c.fileno(), 512)
t = socket.create_connection(("127.0.0.1", 53))
q = query("tcpw.garrison.test", 0x4444)
os.writev(t.fileno(), [struct.pack(">H", len(q)), q])
n = struct.unpack(">H", os.read(t.fileno(), 2))[0]
data = b""
while len(data) < n:
    chunk = os.read(t.fileno(), n - len(data))
    if not chunk:
        break
    data += chunk
"#,
        &[],
    );
    for (proto, name, id) in [
        (Protocol::Udp, "udp.garrison.test", 0x1111),
        (Protocol::Tcp, "tcp.garrison.test", 0x2222),
        (Protocol::Udp, "udpw.garrison.test", 0x3333),
        (Protocol::Tcp, "tcpw.garrison.test", 0x4444),
    ] {
        let q = h.wait_for("dns query", |e| {
            e.process.pid == pid && matches!(&e.data, EventData::Dns { direction: DnsDirection::Query, query, .. } if query == name)
        });
        let EventData::Dns {
            protocol,
            server,
            id: qid,
            qtype,
            rcode,
            answers,
            ..
        } = &q.data
        else {
            unreachable!()
        };
        assert_eq!(q.syscall, "dns");
        assert_eq!(
            (*protocol, *qid, qtype.as_str(), rcode, answers.len()),
            (proto, id, "A", &None, 0)
        );
        assert_eq!(
            server,
            &SockAddr::Inet {
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port: 53
            }
        );
        let r = h.wait_for("dns response", |e| {
            e.process.pid == pid && matches!(&e.data, EventData::Dns { direction: DnsDirection::Response, query, .. } if query == name)
        });
        let EventData::Dns {
            protocol,
            id: rid,
            rcode,
            answers,
            ..
        } = &r.data
        else {
            unreachable!()
        };
        assert_eq!(
            (*protocol, *rid, rcode.as_deref()),
            (proto, id, Some("NOERROR"))
        );
        assert_eq!(answers.len(), 2, "{answers:?}");
        assert_eq!(
            (
                answers[0].rtype.as_str(),
                answers[0].data.as_str(),
                answers[0].ttl
            ),
            ("CNAME", name, 30)
        );
        assert_eq!(
            (
                answers[1].name.as_str(),
                answers[1].rtype.as_str(),
                answers[1].data.as_str()
            ),
            (name, "A", "192.0.2.53")
        );
    }
}

#[test]
fn unix_bind_listen_accept() {
    let mut h = start(&net_kinds());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("srv.sock");
    let mut child = std::process::Command::new(PYTHON)
        .args([
            "-c",
            "import socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1]); s.listen(3)\nprint('ready', flush=True)\nc, _ = s.accept(); c.close()",
            path.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut ready = [0u8; 6];
    child.stdout.take().unwrap().read_exact(&mut ready).unwrap();
    let _c = std::os::unix::net::UnixStream::connect(&path).unwrap();
    assert!(child.wait().unwrap().success());
    let want = SockAddr::Unix {
        path: path.to_str().unwrap().to_string(),
    };
    let b = h.wait_for("unix bind", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Bind { .. })
    });
    assert_eq!(
        b.data,
        EventData::Bind {
            protocol: Protocol::Other,
            local: want.clone()
        }
    );
    let l = h.wait_for("unix listen", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Listen { .. })
    });
    assert_eq!(
        l.data,
        EventData::Listen {
            protocol: Protocol::Other,
            local: Some(want.clone()),
            backlog: 3
        }
    );
    let a = h.wait_for("unix accept", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Accept { .. })
    });
    assert!(a.result.unwrap() >= 3);
    let EventData::Accept { local, .. } = &a.data else {
        unreachable!()
    };
    assert_eq!(local.as_ref(), Some(&want));
}

/// The DNS gate: a process that talks to port 53 (connect, or a datagram naming
/// it) is marked by the cgroup hooks and its socket calls examined; one that only
/// talks to other ports (a redis client, say) is not, and its send/recv stop at
/// the gate. Both processes stay alive while the marks are read.
#[test]
fn dns_gate_marks_only_port_53_talkers() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let h = start(&net_kinds());
    let gate = h.sensor.attachment().dns_gate.unwrap_or_default();
    assert!(gate.starts_with("cgroup connect4/6"), "{gate}");
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in server.incoming() {
            let Ok(mut conn) = conn else { break };
            std::thread::spawn(move || {
                let mut buf = [0u8; 64];
                while let Ok(n) = conn.read(&mut buf) {
                    if n == 0 || conn.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    // 127.0.0.1:53/udp needs no listener: a connect() to it is enough to be marked.
    let script = r#"
import socket, sys
port, dns = int(sys.argv[1]), sys.argv[2] == "dns"
t = socket.create_connection(("127.0.0.1", port))
for _ in range(100):
    t.send(b"PING\r\n"); t.recv(64)
if dns:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.connect(("127.0.0.1", 53))
print("ready", flush=True)
sys.stdin.read()
"#;
    let spawn = |mode: &str| {
        let mut child = Command::new("python3")
            .args(["-c", script, &port.to_string(), mode])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run python3");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        child
    };
    let plain = spawn("plain");
    let talker = spawn("dns");
    let marked = h.sensor.dns_talkers();
    assert!(marked.contains(&talker.id()), "{marked:?}");
    assert!(!marked.contains(&plain.id()), "{marked:?}");
    for mut c in [plain, talker] {
        drop(c.stdin.take());
        c.wait().unwrap();
    }
}

/// DNS with the interest as `garrison agent` programs it by default (the kind
/// wanted, not insisted on): queries from packets on the transmit queue, in a
/// network namespace the test creates, over UDP and UDP/IPv6, attributed to the
/// client; answers and TCP (payload in page fragments) are not read (the programs
/// that read them cost every packet), and the source says so.
#[test]
fn dns_queries_from_packets_in_a_network_namespace() {
    let mut h = start_with(garrison_event::Interest::kinds([EventKind::Dns]));
    let a = h.sensor.attachment();
    let src = a.dns_source.unwrap_or_default();
    assert!(src.starts_with("packets"), "{src}");
    assert!(src.contains("net_dev_queue"), "{src}");
    assert!(src.contains("answers are not read"), "{src}");
    assert!(src.contains("TCP only when"), "{src}");
    assert!(src.contains("--events dns"), "{src}");
    netns_dns(
        false,
        "q.garrison.test",
        || {},
        |pid| {
            for (name, server, id) in [
                ("udp.q.garrison.test", lo4(), 0x5151),
                ("udp6.q.garrison.test", lo6(), 0x5353),
            ] {
                assert_dns_exchange(&mut h, pid, name, Protocol::Udp, server, id, false);
            }
            // give any answer record time to arrive, then count: queries only, and
            // the resolver's own side (its sockets are bound to port 53) not at all
            std::thread::sleep(std::time::Duration::from_millis(300));
            h.of_pid(pid);
            let dns: Vec<_> = h
                .seen
                .iter()
                .filter(|e| {
                    // this test's names only: tests in this binary run at once,
                    // and the sensors see each other's namespaces' packets
                    matches!(&e.data, EventData::Dns { query, .. }
                        if ["udp", "tcp", "udp6"].iter().any(|p| *query == format!("{p}.q.garrison.test")))
                })
                .collect();
            assert_eq!(dns.len(), 2, "one query each, over UDP: {dns:?}");
            assert!(
                dns.iter().all(|e| e.process.pid == pid
                    && matches!(
                        e.data,
                        EventData::Dns {
                            direction: DnsDirection::Query,
                            ..
                        }
                    )),
                "{dns:?}"
            );
        },
    );
}

/// DNS asked for by name (`--events dns`): queries and answers from packets, in a
/// network namespace the test creates, over UDP, TCP and UDP/IPv6, attributed to
/// the client.
#[test]
fn dns_queries_and_answers_from_packets_in_a_network_namespace() {
    let mut h = start_with(garrison_event::Interest::kinds([]).insist_on([EventKind::Dns]));
    let src = h.sensor.attachment().dns_source.unwrap_or_default();
    assert!(src.contains("queries and answers"), "{src}");
    netns_dns(
        false,
        "ns.garrison.test",
        || {},
        |pid| {
            assert_dns_exchanges(&mut h, pid, "ns.garrison.test", true, true);
            // the resolver's own side (its sockets are bound to port 53) is not reported
            let dns: Vec<_> = h
                .of_pid(pid)
                .into_iter()
                .filter(|e| matches!(e.data, EventData::Dns { .. }))
                .collect();
            assert_eq!(dns.len(), 6, "one query and one response each: {dns:?}");
        },
    );
}

/// Sockets connected to port 53 before the sensor started have no owner record
/// in the kernel; their packets are attributed by the socket's inode, looked up
/// among the processes' fds.
#[test]
fn dns_on_sockets_connected_before_the_sensor_is_attributed() {
    let h = std::cell::RefCell::new(None);
    netns_dns(
        true,
        "early.garrison.test",
        || {
            *h.borrow_mut() = Some(start_with(
                garrison_event::Interest::kinds([]).insist_on([EventKind::Dns]),
            ))
        },
        |pid| {
            let mut h = h.borrow_mut();
            let h = h.as_mut().expect("the sensor started");
            assert_dns_exchanges(h, pid, "early.garrison.test", false, true);
        },
    );
}

/// The default interest's query path reads sockets connected before the sensor
/// too: no owner record, so they are attributed by the socket's inode.
#[test]
fn dns_queries_on_sockets_connected_before_the_sensor_are_attributed() {
    let h = std::cell::RefCell::new(None);
    netns_dns(
        true,
        "early-q.garrison.test",
        || {
            *h.borrow_mut() = Some(start_with(garrison_event::Interest::kinds([
                EventKind::Dns,
            ])))
        },
        |pid| {
            let mut h = h.borrow_mut();
            let h = h.as_mut().expect("the sensor started");
            assert_dns_exchange(
                h,
                pid,
                "udp.early-q.garrison.test",
                Protocol::Udp,
                lo4(),
                0x5151,
                false,
            );
        },
    );
}

//! DNS from the syscall path: the fallback where the cgroup_skb programs cannot
//! attach (forced here with GARRISON_SENSOR_DNS_SYSCALLS=1, so this binary holds
//! this one test): the same queries, seen in the client's send/recv calls, and
//! the source's note saying where DNS comes from and why.
mod common;

use common::*;
use garrison_event::{EventKind, EventSource, Interest};

#[test]
fn dns_falls_back_to_the_syscall_path() {
    // set before this binary's only test starts a sensor
    std::env::set_var("GARRISON_SENSOR_DNS_SYSCALLS", "1");
    let mut h = start_with(Interest::kinds([EventKind::Dns]));
    let a = h.sensor.attachment();
    let src = a.dns_source.clone().unwrap_or_default();
    assert!(
        src.starts_with("syscalls") && src.contains("GARRISON_SENSOR_DNS_SYSCALLS=1"),
        "{a:?}"
    );
    assert!(a.tracepoints.contains(&"sendto".to_string()), "{a:?}");
    assert!(a
        .dns_gate
        .as_deref()
        .unwrap_or("")
        .starts_with("cgroup connect4/6"));
    let info = h.sensor.info();
    let note = info
        .notes
        .iter()
        .find(|n| n.kind == EventKind::Dns)
        .unwrap_or_else(|| panic!("no dns note: {info:?}"));
    assert!(note.reason.contains("DNS from syscalls"), "{}", note.reason);
    netns_dns(
        false,
        "sys.garrison.test",
        || {},
        |pid| assert_dns_exchanges(&mut h, pid, "sys.garrison.test", true, true),
    );
}

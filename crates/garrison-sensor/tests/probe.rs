//! The feature probe on this host: BPF mechanisms detected by loading programs.
use garrison_sensor::{probe, Check, MountState};

#[test]
fn probe_reports_what_the_kernel_allows() {
    let f = probe();
    assert!(!f.kernel.is_empty());
    assert!(f.btf, "kernel BTF is required by the sensor");
    assert!(
        !matches!(f.tracefs, MountState::Failed { .. }),
        "{:?}",
        f.tracefs
    );
    assert!(
        !matches!(f.bpffs, MountState::Failed { .. }),
        "{:?}",
        f.bpffs
    );
    assert_eq!(f.tp_btf, Check::Available);
    assert_eq!(
        f.tracepoint,
        Check::Available,
        "tracefs is mounted, classic tracepoints attach"
    );
    assert_eq!(f.cgroup_sock_addr, Check::Available);
    assert_eq!(f.cgroup_skb, Check::Available);
    assert!(f.sensor_usable());
    assert_eq!(f.unusable_reason(), None);
    // whichever way the lockdown-sensitive mechanisms go, a refusal says why
    for c in [&f.fentry, &f.lsm, &f.kprobes] {
        if let Check::Unavailable { reason } = c {
            assert!(!reason.is_empty());
        }
    }
    let json = serde_json::to_value(&f).unwrap();
    assert_eq!(json["tp_btf"]["state"], "available");
    // a second probe finds the filesystems present
    let again = probe();
    assert_eq!(again.tracefs, MountState::Present);
    assert_eq!(again.bpffs, MountState::Present);
}

#[test]
fn sensor_says_how_syscalls_are_attached() {
    use garrison_event::{EventKind, Interest};
    let sensor = garrison_sensor::Sensor::start(
        &Interest::kinds([EventKind::Open]).insist_on([EventKind::Module]),
    )
    .expect("start the sensor");
    let a = sensor.attachment();
    assert!(a.tracepoints.contains(&"openat".to_string()), "{a:?}");
    // this kernel has no module tracepoints (shared/notes/kernel.md)
    for m in ["init_module", "finit_module", "delete_module"] {
        let raw = a.raw_syscalls.contains(&m.to_string());
        let tp = std::path::Path::new(&format!(
            "/sys/kernel/tracing/events/syscalls/sys_enter_{m}"
        ))
        .exists();
        assert_eq!(raw, !tp, "{m}: {a:?}");
    }
}

#[test]
fn default_interest_spares_every_syscall_the_raw_hook() {
    use garrison_event::{EventKind, EventSource, Interest};
    let module_tps = ["init_module", "finit_module", "delete_module"].map(|m| {
        std::path::Path::new(&format!(
            "/sys/kernel/tracing/events/syscalls/sys_enter_{m}"
        ))
        .exists()
    });
    let mut sensor = garrison_sensor::Sensor::start(&Interest::default()).expect("start");
    let a = sensor.attachment();
    // Every kind asked for, but nothing on raw_syscalls: a kernel without module
    // tracepoints leaves those calls out and says so.
    assert!(a.raw_syscalls.is_empty(), "{a:?}");
    assert!(a.tracepoints.contains(&"openat".to_string()), "{a:?}");
    // nor on any socket call: DNS comes from packets (cgroup_skb), watched by
    // default, and the note says so
    for call in [
        "write", "read", "writev", "readv", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
    ] {
        assert!(!a.tracepoints.contains(&call.to_string()), "{call}: {a:?}");
    }
    assert!(
        a.dns_source.as_deref().unwrap_or("").starts_with("packets"),
        "{a:?}"
    );
    let info = sensor.info();
    let dns = info.notes.iter().find(|n| n.kind == EventKind::Dns);
    assert!(
        dns.is_some_and(|n| n.watched && n.reason.contains("DNS from packets")),
        "{info:?}"
    );
    if module_tps.iter().all(|t| !t) {
        let note = info
            .notes
            .iter()
            .find(|n| n.kind == EventKind::Module)
            .unwrap_or_else(|| panic!("no note on the module kind: {info:?}"));
        assert!(!note.watched);
        assert!(note.reason.contains("init_module"), "{}", note.reason);
        assert!(note.reason.contains("--events module"), "{}", note.reason);
        assert!(note.reason.contains("not watched"), "{}", note.reason);
        if !std::path::Path::new("/proc/modules").exists() {
            assert!(note.reason.contains("ENOSYS"), "{}", note.reason);
        }
    }
    // insisting on the kind (a rule or `--events module`) attaches raw_syscalls
    // there, and the note says it is watched at that cost
    sensor
        .set_interest(&Interest::default().insist_on([EventKind::Module]))
        .expect("set interest");
    let a = sensor.attachment();
    for (m, tp) in ["init_module", "finit_module", "delete_module"]
        .iter()
        .zip(module_tps)
    {
        assert_eq!(a.raw_syscalls.contains(&m.to_string()), !tp, "{m}: {a:?}");
    }
    if module_tps.iter().all(|t| !t) {
        let info = sensor.info();
        let note = info.notes.iter().find(|n| n.kind == EventKind::Module);
        assert!(
            note.is_some_and(|n| n.watched && n.reason.contains("raw_syscalls")),
            "{info:?}"
        );
    }
    // and back
    sensor
        .set_interest(&Interest::default())
        .expect("set interest");
    assert!(sensor.attachment().raw_syscalls.is_empty());
}

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
    let sensor =
        garrison_sensor::Sensor::start(&Interest::kinds([EventKind::Open, EventKind::Module]))
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

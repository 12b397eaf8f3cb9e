//! Loss is counted, never silent: a storm larger than the ring while nobody
//! reads shows up in the per-kind `lost` counter, and every event that did fit is
//! still delivered afterwards.
mod common;

use common::*;
use garrison_event::{EventData, EventKind, EventSource};
use std::time::Duration;

#[test]
fn a_full_ring_counts_lost_events() {
    let mut h = start(&[EventKind::Open]);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("storm");
    // ~230-byte records, 8 MiB ring: 200,000 opens cannot all fit unread
    let pid = python(
        "import os, sys\nfor _ in range(200000):\n    os.close(os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600))",
        &[f.to_str().unwrap()],
    );
    let stats = h.sensor.stats();
    let open = stats.kinds[&EventKind::Open];
    assert!(open.lost > 0, "{open:?}");
    assert!(open.delivered + open.lost >= 200_000, "{open:?}");
    assert_eq!(
        stats.lost(),
        stats.kinds.values().map(|k| k.lost).sum::<u64>()
    );
    // drain until a poll brings nothing more from the storm (the host may keep
    // producing other opens meanwhile)
    let mut got = 0u64;
    loop {
        let mut batch = 0u64;
        h.sensor
            .poll(Duration::from_millis(300), &mut |e| {
                if e.process.pid == pid && matches!(e.data, EventData::Open { .. }) {
                    batch += 1;
                }
            })
            .unwrap();
        if batch == 0 {
            break;
        }
        got += batch;
    }
    assert!(got > 0 && got < 200_000, "received {got}");
    assert_eq!(h.sensor.stats().decode_errors, 0);
}

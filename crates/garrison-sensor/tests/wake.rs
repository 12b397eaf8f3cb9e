//! Delivery after a quiet spell: once a poll finds the ring quiet for a tick it
//! asks the kernel to wake it on the next record (`wake_map`), and that record
//! clears the request as it wakes the consumer, so an idle agent does not wake on
//! a timer and the first event after a quiet spell does not wait for one.
mod common;

use common::*;
use garrison_event::{EventData, EventKind, EventSource};
use std::time::Duration;

#[test]
fn a_quiet_consumer_is_woken_by_the_next_record() {
    let mut h = start(&[EventKind::Mkdir]);
    // poll until the sensor has asked for a wake-up: the host's own mkdirs, if
    // any, are delivered first
    let mut polls = 0;
    while !h.sensor.wake_requested().expect("read wake_map") {
        h.sensor
            .poll(Duration::from_millis(50), &mut |_| {})
            .expect("poll the sensor");
        polls += 1;
        assert!(polls < 600, "the sensor never went idle in {polls} polls");
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("after-a-quiet-spell");
    let pid = python(
        "import os, sys\nos.mkdir(sys.argv[1])",
        &[target.to_str().unwrap()],
    );
    // the record cleared the request in the kernel before anyone polled
    assert!(
        !h.sensor.wake_requested().expect("read wake_map"),
        "a record after the quiet spell should have cleared the wake-up request"
    );
    let want = target.to_string_lossy().to_string();
    let e = h.wait_for("mkdir after a quiet spell", |e| {
        e.process.pid == pid
            && matches!(&e.data, EventData::Mkdir { path, .. } if path.path == want)
    });
    assert_eq!(e.result, Some(0), "{e:?}");
    // delivered: the consumer is busy again, and asks anew only after a quiet tick
    assert!(!h.sensor.wake_requested().expect("read wake_map"));
}

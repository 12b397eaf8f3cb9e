//! The hot path (prepare + evaluate the full default ruleset, no match) does not
//! allocate once its buffers have grown: a counting global allocator proves it.

use garrison_event::EventKind;
use garrison_rules::fields::Ctx;
use garrison_rules::samples::sample;
use garrison_rules::{LoadOptions, RuleSet};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn evaluation_does_not_allocate() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules");
    let set = RuleSet::load_paths(&[dir.into()], LoadOptions::default()).unwrap();
    let mut events = Vec::new();
    for kind in EventKind::ALL {
        let mut ev = sample(kind);
        // Benign: a web server's worker doing its job on the host.
        ev.container = None;
        ev.process.comm = "nginx".into();
        ev.process.args = vec!["nginx".into(), "-g".into(), "daemon off;".into()];
        ev.process.ancestors.truncate(1);
        ev.process.ancestors[0].name = "systemd".into();
        events.push(ev);
    }
    let mut ctx = Ctx::new("node1");
    let mut st = set.state();
    let mut hits = Vec::with_capacity(64);
    let mut run = |ctx: &mut Ctx, hits: &mut Vec<usize>| {
        let mut total = 0;
        for ev in &events {
            ctx.prepare(ev, set.needs_for(ev.kind()));
            hits.clear();
            set.matches(ev, ctx, &mut st, hits);
            total += hits.len();
        }
        total
    };
    let warm = run(&mut ctx, &mut hits);
    let before = ALLOCS.load(Ordering::Relaxed);
    let mut again = 0;
    for _ in 0..100 {
        again = run(&mut ctx, &mut hits);
    }
    let after = ALLOCS.load(Ordering::Relaxed);
    assert_eq!(warm, again);
    assert_eq!(
        after - before,
        0,
        "{} allocations on the hot path",
        after - before
    );
}

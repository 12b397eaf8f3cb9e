//! Spreading the per-event work over threads: rule evaluation (and the rendering
//! of stream lines) for a batch of enriched events runs on worker threads, sharded
//! by process (tgid) so that each worker sees the events of its processes in order;
//! the results come back tagged with each event's place in the batch and are put
//! back in event order before anything is written or offered to the alert grouper.
//! So the output — event lines, alerts, grouping, rate limits — is the same as one
//! thread's, only sooner.

use crate::detect::{Alert, Evaluator};
use crate::{text, Format};
use garrison_event::{Event, EventKind};
use std::collections::VecDeque;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// What one event produced: its stream line with its newline (when its kind is
/// streamed) and its alerts, each with the index of the detector that raised it.
#[derive(Default)]
pub(crate) struct Done {
    pub line: Option<Vec<u8>>,
    pub alerts: Vec<(usize, Alert)>,
}

/// Appends an event's stream line and its newline to `buf`; false (and `buf` as
/// it was) when its kind is not streamed or it cannot be serialized.
pub(crate) fn render_line(
    ev: &Event,
    kinds: &[EventKind],
    format: Format,
    buf: &mut Vec<u8>,
) -> bool {
    if !kinds.contains(&ev.kind()) {
        return false;
    }
    let start = buf.len();
    match format {
        Format::Json => {
            if ev.write_ndjson(buf).is_err() {
                buf.truncate(start);
                return false;
            }
        }
        Format::Text => buf.extend_from_slice(text::event_line(ev).as_bytes()),
    }
    buf.push(b'\n');
    true
}

/// A shard of a batch: `(place in the batch, event)`.
struct Job {
    batch: u64,
    items: Vec<(u32, Event)>,
    /// The kinds streamed when the batch was handed out (they may change at run
    /// time: a pushed policy).
    kinds: Arc<[EventKind]>,
}

/// A shard's results.
struct JobDone {
    batch: u64,
    items: Vec<(u32, Done)>,
}

/// A batch on its way through the workers.
struct Assembly {
    id: u64,
    pending_jobs: usize,
    done: Vec<Done>,
}

/// The worker threads and the batches in flight.
pub(crate) struct Workers {
    senders: Vec<Sender<Job>>,
    results: Receiver<JobDone>,
    handles: Vec<JoinHandle<()>>,
    in_flight: VecDeque<Assembly>,
    next_id: u64,
    /// At most this many batches in flight: then [`Workers::submit`] waits.
    depth: usize,
    /// The kinds streamed.
    kinds: Arc<[EventKind]>,
}

/// Which of `n` shards a process's events go to.
fn shard(pid: u32, n: usize) -> usize {
    // Fibonacci hashing spreads consecutive pids.
    ((u64::from(pid).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize) % n.max(1)
}

impl Workers {
    /// Starts one thread per evaluator set (`sets[i]`: `(detector index,
    /// evaluator)` for every parallel detector). Fails when a thread cannot start.
    pub fn start(
        sets: Vec<Vec<(usize, Box<dyn Evaluator>)>>,
        kinds: &[EventKind],
        format: Format,
    ) -> std::io::Result<Workers> {
        let (rtx, results) = channel();
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        let n = sets.len();
        for (i, mut evals) in sets.into_iter().enumerate() {
            let (tx, rx) = channel::<Job>();
            let rtx = rtx.clone();
            let handle = std::thread::Builder::new()
                .name(format!("garrison-eval-{i}"))
                .spawn(move || {
                    for job in rx {
                        let mut items = Vec::with_capacity(job.items.len());
                        for (place, ev) in job.items {
                            // A detector that panics loses this event's alerts, not the
                            // pipeline (which waits for every shard it handed out).
                            let done =
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                    let mut done = Done::default();
                                    for (d, eval) in evals.iter_mut() {
                                        let d = *d;
                                        eval.on_event(&ev, &mut |a| done.alerts.push((d, a)));
                                    }
                                    done
                                }))
                                .unwrap_or_default();
                            let mut buf = Vec::new();
                            let line =
                                render_line(&ev, &job.kinds, format, &mut buf).then_some(buf);
                            items.push((place, Done { line, ..done }));
                        }
                        if rtx
                            .send(JobDone {
                                batch: job.batch,
                                items,
                            })
                            .is_err()
                        {
                            break;
                        }
                    }
                })?;
            senders.push(tx);
            handles.push(handle);
        }
        Ok(Workers {
            senders,
            results,
            handles,
            in_flight: VecDeque::new(),
            next_id: 0,
            depth: 2 * n.max(1),
            kinds: kinds.into(),
        })
    }

    /// The kinds streamed from the next batch on.
    pub fn set_kinds(&mut self, kinds: &[EventKind]) {
        self.kinds = kinds.into();
    }

    /// How many batches are being evaluated.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Hands a batch of enriched events to the workers; `serial` holds, per event,
    /// the alerts the pipeline thread's own detectors already raised for it. When
    /// too many batches are in flight, first waits for the oldest and returns it
    /// (in event order) for writing.
    pub fn submit(&mut self, batch: Vec<Event>, serial: Vec<Vec<(usize, Alert)>>) -> Vec<Done> {
        let n = self.senders.len();
        let len = batch.len();
        let mut shards: Vec<Vec<(u32, Event)>> = (0..n).map(|_| Vec::new()).collect();
        for (place, ev) in batch.into_iter().enumerate() {
            let s = shard(ev.process.pid, n);
            if let Some(v) = shards.get_mut(s) {
                v.push((place as u32, ev));
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut done: Vec<Done> = Vec::with_capacity(len);
        let mut serial = serial.into_iter();
        for _ in 0..len {
            done.push(Done {
                alerts: serial.next().unwrap_or_default(),
                ..Done::default()
            });
        }
        let mut jobs = 0;
        for (s, items) in shards.into_iter().enumerate() {
            if items.is_empty() {
                continue;
            }
            if let Some(tx) = self.senders.get(s) {
                // A worker that is gone (it panicked) loses its shard's alerts and
                // lines; the rest of the pipeline goes on.
                let job = Job {
                    batch: id,
                    items,
                    kinds: Arc::clone(&self.kinds),
                };
                if tx.send(job).is_ok() {
                    jobs += 1;
                }
            }
        }
        self.in_flight.push_back(Assembly {
            id,
            pending_jobs: jobs,
            done,
        });
        let mut out = Vec::new();
        while self.in_flight.len() > self.depth {
            out.extend(self.next_done(true).unwrap_or_default());
        }
        out
    }

    /// The oldest batch once it is complete, in event order; with `wait`, blocks
    /// until it is (`None`: nothing in flight, or not complete and not waiting).
    pub fn next_done(&mut self, wait: bool) -> Option<Vec<Done>> {
        loop {
            let front = self.in_flight.front()?;
            if front.pending_jobs == 0 {
                return self.in_flight.pop_front().map(|a| a.done);
            }
            let r = if wait {
                self.results.recv().ok()
            } else {
                self.results.try_recv().ok()
            };
            match r {
                Some(job) => self.place(job),
                None if wait => {
                    // Every worker is gone: give back what there is.
                    return self.in_flight.pop_front().map(|a| a.done);
                }
                None => return None,
            }
        }
    }

    fn place(&mut self, job: JobDone) {
        let Some(first) = self.in_flight.front().map(|a| a.id) else {
            return;
        };
        let Some(a) = job
            .batch
            .checked_sub(first)
            .and_then(|i| self.in_flight.get_mut(i as usize))
        else {
            return;
        };
        for (place, mut d) in job.items {
            if let Some(slot) = a.done.get_mut(place as usize) {
                slot.line = d.line.take();
                if slot.alerts.is_empty() {
                    slot.alerts = d.alerts;
                } else {
                    slot.alerts.append(&mut d.alerts);
                    // Detector order, as one thread raises them (stable: each
                    // detector's own alerts keep their order).
                    slot.alerts.sort_by_key(|(i, _)| *i);
                }
            }
        }
        a.pending_jobs = a.pending_jobs.saturating_sub(1);
    }

    /// Stops the threads (after they finish what they hold).
    pub fn finish(self) {
        drop(self.senders);
        for h in self.handles {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::shard;

    #[test]
    fn shards_cover_every_worker_and_are_stable() {
        for n in 1..6 {
            let mut seen = vec![false; n];
            for pid in 1..1000u32 {
                let s = shard(pid, n);
                assert!(s < n);
                assert_eq!(s, shard(pid, n));
                seen[s] = true;
            }
            assert!(seen.iter().all(|s| *s), "{n} workers: {seen:?}");
        }
    }
}

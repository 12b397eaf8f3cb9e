//! The bounded on-disk spool of alert batches: each batch is one file
//! (`<seq>-<alerts>.batch`, zstd-compressed JSON `{"batch_id","alerts"}`), written
//! atomically before anything is sent and deleted only once the server answered
//! (stored, or a duplicate of a batch it already has). Batch IDs are in the files,
//! so a resend after a crash or a lost answer is recognised by the server.
//!
//! The size limit is in bytes on disk. When a new batch does not fit, the oldest
//! batches are dropped and their alerts counted ([`Spool::dropped_alerts`]), never
//! silently. A file that does not read back is moved to `corrupt/` with the reason.

use crate::error::{io, UplinkError};
use crate::identity::write_atomic;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// A batch as spooled.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SpooledBatch {
    /// Unique, stable across retries.
    pub batch_id: String,
    /// The alerts.
    pub alerts: Vec<Value>,
}

/// One file in the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Sequence number (order of arrival).
    pub seq: u64,
    /// Alerts in it.
    pub alerts: u64,
    /// Bytes on disk.
    pub bytes: u64,
    /// The file.
    pub path: PathBuf,
}

/// What opening the spool found wrong (files set aside).
#[derive(Debug, Clone)]
pub struct Problem {
    /// The file (now in `corrupt/`).
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

/// The spool.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    entries: VecDeque<Entry>,
    bytes: u64,
    next_seq: u64,
    dropped_alerts: u64,
    dropped_batches: u64,
    corrupt_files: u64,
}

fn parse_name(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(".batch")?;
    let (seq, n) = stem.split_once('-')?;
    if seq.len() != 20 {
        return None;
    }
    Some((seq.parse().ok()?, n.parse().ok()?))
}

impl Spool {
    /// Opens (creating) the spool in `dir`, limited to `max_bytes`. Leftover
    /// temporary files are removed; files with foreign names are set aside.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<(Spool, Vec<Problem>), UplinkError> {
        crate::identity::prepare_dir(dir)?;
        let mut entries = Vec::new();
        let mut problems = Vec::new();
        let rd = std::fs::read_dir(dir).map_err(io("listing", dir))?;
        for de in rd {
            let de = de.map_err(io("listing", dir))?;
            let path = de.path();
            let ft = de.file_type().map_err(io("reading", &path))?;
            if ft.is_dir() {
                continue;
            }
            let name = de.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            match parse_name(&name) {
                Some((seq, alerts)) => {
                    let bytes = de.metadata().map_err(io("reading", &path))?.len();
                    entries.push(Entry {
                        seq,
                        alerts,
                        bytes,
                        path,
                    });
                }
                None => problems.push(Problem {
                    path,
                    reason: "not a spool file name (<20-digit seq>-<alerts>.batch)".into(),
                }),
            }
        }
        entries.sort_by_key(|e| e.seq);
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            max_bytes: max_bytes.max(1),
            bytes: entries.iter().map(|e| e.bytes).sum(),
            next_seq: entries.last().map(|e| e.seq + 1).unwrap_or(1),
            entries: entries.into(),
            dropped_alerts: 0,
            dropped_batches: 0,
            corrupt_files: 0,
        };
        let mut set_aside = Vec::new();
        for p in problems {
            let moved = spool.move_aside(&p.path, &p.reason)?;
            set_aside.push(Problem {
                path: moved,
                reason: p.reason,
            });
        }
        Ok((spool, set_aside))
    }

    fn move_aside(&mut self, path: &Path, reason: &str) -> Result<PathBuf, UplinkError> {
        let cdir = self.dir.join("corrupt");
        crate::identity::prepare_dir(&cdir)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "unnamed".into());
        let to = cdir.join(&name);
        std::fs::rename(path, &to).map_err(io("setting aside", path))?;
        let _ = std::fs::write(cdir.join(format!("{name}.reason")), reason);
        self.corrupt_files += 1;
        tracing::warn!(
            "uplink spool: {} is unusable ({reason}); moved to {}",
            path.display(),
            to.display()
        );
        Ok(to)
    }

    /// Adds a batch (new ID) of `alerts`, dropping the oldest batches when it does
    /// not fit. Returns the alerts dropped to make room (also counted).
    pub fn push(&mut self, alerts: Vec<Value>) -> Result<u64, UplinkError> {
        if alerts.is_empty() {
            return Ok(0);
        }
        let n = alerts.len() as u64;
        let batch = SpooledBatch {
            batch_id: uuid::Uuid::new_v4().to_string(),
            alerts,
        };
        let json = serde_json::to_vec(&batch).map_err(|e| UplinkError::CorruptSpool {
            path: self.dir.clone(),
            reason: format!("encoding a batch: {e}"),
        })?;
        let data =
            zstd::encode_all(&json[..], 3).map_err(io("compressing a batch for", &self.dir))?;
        let size = data.len() as u64;
        let mut dropped = 0;
        if size > self.max_bytes {
            // Larger than the whole spool: it cannot be kept at all.
            self.dropped_alerts += n;
            self.dropped_batches += 1;
            tracing::warn!(
                "uplink spool: a batch of {n} alerts ({size} bytes) is larger than the spool limit ({} bytes): dropped",
                self.max_bytes
            );
            return Ok(n);
        }
        while self.bytes + size > self.max_bytes {
            let Some(old) = self.entries.pop_front() else {
                break;
            };
            match std::fs::remove_file(&old.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("dropping", &old.path)(e)),
            }
            self.bytes -= old.bytes;
            dropped += old.alerts;
            self.dropped_batches += 1;
        }
        if dropped > 0 {
            self.dropped_alerts += dropped;
            tracing::warn!(
                "uplink spool full ({} bytes): dropped the oldest {dropped} undelivered alert(s) ({} dropped in all)",
                self.max_bytes,
                self.dropped_alerts
            );
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let path = self.dir.join(format!("{seq:020}-{n}.batch"));
        write_atomic(&path, &data, 0o600)?;
        self.bytes += size;
        self.entries.push_back(Entry {
            seq,
            alerts: n,
            bytes: size,
            path,
        });
        Ok(dropped)
    }

    /// The oldest batch, read back. A file that does not read back is set aside
    /// (moved to `corrupt/`, counted) and the error returned; the next call goes on
    /// with the next file.
    pub fn front(&mut self) -> Result<Option<(Entry, SpooledBatch)>, UplinkError> {
        let Some(e) = self.entries.front().cloned() else {
            return Ok(None);
        };
        let read = std::fs::read(&e.path)
            .map_err(|err| err.to_string())
            .and_then(|b| zstd::decode_all(&b[..]).map_err(|err| format!("not zstd: {err}")))
            .and_then(|j| {
                serde_json::from_slice::<SpooledBatch>(&j)
                    .map_err(|err| format!("not a spooled batch: {err}"))
            })
            .and_then(|b| {
                if b.alerts.len() as u64 != e.alerts {
                    Err(format!(
                        "holds {} alerts, its name says {}",
                        b.alerts.len(),
                        e.alerts
                    ))
                } else if b.batch_id.is_empty() {
                    Err("empty batch_id".into())
                } else {
                    Ok(b)
                }
            });
        match read {
            Ok(b) => Ok(Some((e, b))),
            Err(reason) => {
                self.entries.pop_front();
                self.bytes -= e.bytes;
                let moved = self.move_aside(&e.path, &reason)?;
                Err(UplinkError::CorruptSpool {
                    path: moved,
                    reason: format!("{reason} ({} alerts set aside)", e.alerts),
                })
            }
        }
    }

    /// Removes a delivered batch.
    pub fn remove(&mut self, e: &Entry) -> Result<(), UplinkError> {
        if let Some(i) = self.entries.iter().position(|x| x.seq == e.seq) {
            self.entries.remove(i);
            self.bytes -= e.bytes;
        }
        match std::fs::remove_file(&e.path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(io("removing the delivered batch", &e.path)(err)),
        }
    }

    /// Sets aside a batch the server refused as invalid (so it is not retried forever).
    pub fn reject(&mut self, e: &Entry, reason: &str) -> Result<PathBuf, UplinkError> {
        if let Some(i) = self.entries.iter().position(|x| x.seq == e.seq) {
            self.entries.remove(i);
            self.bytes -= e.bytes;
        }
        self.move_aside(&e.path, reason)
    }

    /// Batches waiting.
    pub fn batches(&self) -> usize {
        self.entries.len()
    }

    /// Alerts waiting.
    pub fn alerts(&self) -> u64 {
        self.entries.iter().map(|e| e.alerts).sum()
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The limit.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Alerts dropped because the spool was full, since it was opened.
    pub fn dropped_alerts(&self) -> u64 {
        self.dropped_alerts
    }

    /// Batches dropped because the spool was full.
    pub fn dropped_batches(&self) -> u64 {
        self.dropped_batches
    }

    /// Files set aside as unreadable or refused.
    pub fn corrupt_files(&self) -> u64 {
        self.corrupt_files
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alerts(n: usize, tag: &str) -> Vec<Value> {
        (0..n)
            .map(
                |i| json!({"kind":"alert","output":format!("{tag}-{i}"),"pad":"x".repeat(200 + i)}),
            )
            .collect()
    }

    #[test]
    fn batches_survive_reopening_in_order() {
        let d = tempfile::tempdir().unwrap();
        let (mut s, p) = Spool::open(d.path(), 1 << 20).unwrap();
        assert!(p.is_empty());
        s.push(alerts(3, "a")).unwrap();
        s.push(alerts(2, "b")).unwrap();
        let (_, first) = s.front().unwrap().unwrap();
        drop(s);
        let (mut s, _) = Spool::open(d.path(), 1 << 20).unwrap();
        assert_eq!((s.batches(), s.alerts()), (2, 5));
        let (e, again) = s.front().unwrap().unwrap();
        assert_eq!(again, first, "same batch ID after a restart");
        s.remove(&e).unwrap();
        let (e, b) = s.front().unwrap().unwrap();
        assert_eq!(b.alerts[0]["output"], "b-0");
        s.remove(&e).unwrap();
        assert!(s.front().unwrap().is_none());
        assert_eq!(s.bytes(), 0);
        s.push(alerts(1, "c")).unwrap();
        let (e, _) = s.front().unwrap().unwrap();
        assert!(e.seq > 2, "sequence numbers keep growing");
    }

    #[test]
    fn the_bound_drops_oldest_and_counts() {
        let d = tempfile::tempdir().unwrap();
        let (mut s, _) = Spool::open(d.path(), 1).unwrap();
        // Learn one batch's size, then allow room for about three.
        s.max_bytes = u64::MAX;
        s.push(alerts(10, "probe")).unwrap();
        let one = s.bytes();
        let (e, _) = s.front().unwrap().unwrap();
        s.remove(&e).unwrap();
        s.max_bytes = one * 3 + one / 2;
        let mut dropped = 0;
        for i in 0..10 {
            dropped += s.push(alerts(10, &format!("b{i}"))).unwrap();
            assert!(s.bytes() <= s.max_bytes());
        }
        assert!(dropped > 0);
        assert_eq!(dropped, s.dropped_alerts());
        assert_eq!(s.alerts() + dropped, 100, "every alert kept or counted");
        let (_, b) = s.front().unwrap().unwrap();
        assert_eq!(b.alerts[0]["output"], format!("b{}-0", 10 - s.batches()));
        // A batch larger than the whole spool is dropped and counted, not kept.
        s.max_bytes = 10;
        assert_eq!(s.push(alerts(10, "big")).unwrap(), 10);
    }

    #[test]
    fn corrupt_files_are_set_aside_with_a_reason() {
        let d = tempfile::tempdir().unwrap();
        let (mut s, _) = Spool::open(d.path(), 1 << 20).unwrap();
        s.push(alerts(2, "ok1")).unwrap();
        drop(s);
        std::fs::write(d.path().join("00000000000000000000-5.batch"), b"garbage").unwrap();
        std::fs::write(d.path().join("notes.txt"), b"hello").unwrap();
        let bomb = zstd::encode_all(&b"{\"batch_id\":\"x\",\"alerts\":[1]}"[..], 3).unwrap();
        std::fs::write(d.path().join("00000000000000000099-7.batch"), bomb).unwrap();
        let (mut s, problems) = Spool::open(d.path(), 1 << 20).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].path.ends_with("corrupt/notes.txt"));
        let err = s.front().unwrap_err().to_string();
        assert!(
            err.contains("00000000000000000000-5.batch") && err.contains("not zstd"),
            "{err}"
        );
        let (_, b) = s.front().unwrap().unwrap();
        assert_eq!(b.alerts[0]["output"], "ok1-0");
        let (e, _) = s.front().unwrap().unwrap();
        s.remove(&e).unwrap();
        let err = s.front().unwrap_err().to_string();
        assert!(err.contains("holds 1 alerts, its name says 7"), "{err}");
        assert!(s.front().unwrap().is_none());
        assert_eq!(s.corrupt_files(), 3);
        assert!(d
            .path()
            .join("corrupt/00000000000000000000-5.batch.reason")
            .exists());
    }
}

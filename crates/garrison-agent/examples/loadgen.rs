//! Load generator for bench/agent.sh: storms of the syscalls the agent watches.
//!
//! ```text
//! loadgen exec    SECONDS            # fork+exec /bin/true in a loop
//! loadgen open    SECONDS [RATE]     # open(O_WRONLY|O_CREAT)+close of files in a temp dir
//! loadgen connect SECONDS            # TCP connect+close to a loopback listener (accepts too)
//! loadgen pingpong SECONDS           # 1 byte there and back over a loopback TCP pair, 1 thread
//! ```
//! `pingpong` is a request/response server workload boiled down: per round trip, 4
//! socket syscalls and 2 packets, each sent and received, in one thread (no
//! cross-CPU wake-ups, so the figure moves less with the host than redis's).
//! `open` spreads over 2 threads; RATE (operations per second, total) paces it.
//! Prints one JSON line: `{"mode":..,"ops":..,"secs":..,"ops_per_sec":..}`.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn usage() -> ! {
    eprintln!("usage: loadgen exec|open|connect|pingpong SECONDS [RATE]");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or_else(|| usage());
    let secs: f64 = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| usage());
    let rate: Option<u64> = args.get(3).and_then(|s| s.parse().ok());
    let dur = Duration::from_secs_f64(secs);
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut threads = Vec::new();
    match mode {
        "exec" => {
            for _ in 0..2 {
                let (stop, ops) = (stop.clone(), ops.clone());
                threads.push(std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if std::process::Command::new("/bin/true").status().is_ok() {
                            ops.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }));
            }
        }
        "open" => {
            let dir = std::env::temp_dir().join(format!("garrison-loadgen-{}", std::process::id()));
            if let Err(e) = std::fs::create_dir_all(&dir) {
                eprintln!("loadgen: create {}: {e}", dir.display());
                std::process::exit(3);
            }
            let per_thread = rate.map(|r| r / 2);
            for t in 0..2 {
                let (stop, ops, dir) = (stop.clone(), ops.clone(), dir.clone());
                threads.push(std::thread::spawn(move || {
                    let paths: Vec<_> = (0..64).map(|i| dir.join(format!("f{t}-{i}"))).collect();
                    let t0 = Instant::now();
                    let mut done = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(r) = per_thread {
                            // Pace: never ahead of RATE.
                            let due = (t0.elapsed().as_secs_f64() * r as f64) as u64;
                            if done >= due {
                                std::thread::sleep(Duration::from_micros(200));
                                continue;
                            }
                        }
                        for p in &paths {
                            if std::fs::OpenOptions::new()
                                .write(true)
                                .create(true)
                                .truncate(false)
                                .mode(0o600)
                                .open(p)
                                .is_ok()
                            {
                                done += 1;
                            }
                        }
                        ops.fetch_add(paths.len() as u64, Ordering::Relaxed);
                    }
                }));
            }
            let stop2 = stop.clone();
            let dir2 = dir.clone();
            threads.push(std::thread::spawn(move || {
                while !stop2.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = std::fs::remove_dir_all(dir2);
            }));
        }
        "connect" => {
            let listener = match TcpListener::bind("127.0.0.1:0") {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("loadgen: bind 127.0.0.1: {e}");
                    std::process::exit(3);
                }
            };
            let addr = match listener.local_addr() {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("loadgen: local_addr: {e}");
                    std::process::exit(3);
                }
            };
            // The connector may run at most AHEAD connections ahead of the
            // acceptor. Unbounded, on a busy machine the connector fills the
            // listen queue (backlog 128) before the acceptor is scheduled, the
            // kernel drops the handshake's last ACK, and that connect stalls for
            // the 1 s SYN retransmit: the rate then measured the scheduler
            // (100-10,000/s from one run to the next), not the syscalls.
            const AHEAD: usize = 64;
            let (token_tx, token_rx) = std::sync::mpsc::sync_channel::<()>(AHEAD);
            let stop_a = stop.clone();
            threads.push(std::thread::spawn(move || {
                for conn in listener.incoming() {
                    drop(conn);
                    let _ = token_rx.try_recv();
                    if stop_a.load(Ordering::Relaxed) {
                        break;
                    }
                }
            }));
            let (stop, ops) = (stop.clone(), ops.clone());
            threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if TcpStream::connect(addr).is_ok() {
                        ops.fetch_add(1, Ordering::Relaxed);
                        // blocks while AHEAD connections wait for the acceptor
                        if token_tx.send(()).is_err() {
                            break;
                        }
                    }
                }
                // Wake the acceptor so it sees the stop flag.
                let _ = TcpStream::connect(addr);
            }));
        }
        "pingpong" => {
            let pair = (|| {
                let listener = TcpListener::bind("127.0.0.1:0")?;
                let a = TcpStream::connect(listener.local_addr()?)?;
                let (b, _) = listener.accept()?;
                a.set_nodelay(true)?;
                b.set_nodelay(true)?;
                Ok::<_, std::io::Error>((a, b))
            })();
            let (mut a, mut b) = match pair {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("loadgen: a loopback TCP pair on 127.0.0.1: {e}");
                    std::process::exit(3);
                }
            };
            let (stop, ops) = (stop.clone(), ops.clone());
            threads.push(std::thread::spawn(move || {
                use std::io::Read;
                let mut byte = [b'x'];
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let ok = a.write_all(&byte).is_ok()
                        && b.read_exact(&mut byte).is_ok()
                        && b.write_all(&byte).is_ok()
                        && a.read_exact(&mut byte).is_ok();
                    if !ok {
                        eprintln!("loadgen: pingpong: the loopback pair failed");
                        break;
                    }
                    n += 1;
                }
                ops.fetch_add(n, Ordering::Relaxed);
            }));
        }
        _ => usage(),
    }
    std::thread::sleep(dur);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let secs = start.elapsed().as_secs_f64();
    let n = ops.load(Ordering::Relaxed);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{{\"mode\":\"{mode}\",\"ops\":{n},\"secs\":{secs:.3},\"ops_per_sec\":{:.0}}}",
        n as f64 / secs
    );
}

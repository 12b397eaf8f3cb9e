//! Alert outputs: stdout (JSON or text), a size-rotated file, syslog (RFC 5424 over a
//! unix datagram socket or UDP) and an HTTP webhook (JSON, retries with backoff).

use crate::alert::{rfc3339, Alert, AlertSummary};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An output failure, naming the output.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// I/O on a file or socket.
    #[error("{output}: {source}")]
    Io {
        /// Which output.
        output: String,
        /// The error.
        source: io::Error,
    },
    /// The webhook gave up after its retries.
    #[error("webhook {url}: gave up after {attempts} attempts: {last}")]
    Webhook {
        /// URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// Last failure.
        last: String,
    },
}

/// Line format of stream outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// NDJSON.
    Json,
    /// One text line per alert.
    Text,
}

/// One alert output.
pub trait Sink: Send {
    /// Writes an alert.
    fn alert(&mut self, alert: &Alert) -> Result<(), OutputError>;
    /// Writes a summary of folded alerts.
    fn summary(&mut self, summary: &AlertSummary) -> Result<(), OutputError>;
}

/// Any writer (stdout in the agent).
pub struct StreamSink<W: Write + Send> {
    writer: W,
    format: Format,
    name: String,
}

impl<W: Write + Send> StreamSink<W> {
    /// A sink over a writer.
    pub fn new(writer: W, format: Format, name: impl Into<String>) -> Self {
        StreamSink {
            writer,
            format,
            name: name.into(),
        }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.writer
    }

    fn line(&mut self, line: &str) -> Result<(), OutputError> {
        writeln!(self.writer, "{line}")
            .and_then(|_| self.writer.flush())
            .map_err(|source| OutputError::Io {
                output: self.name.clone(),
                source,
            })
    }
}

impl<W: Write + Send> Sink for StreamSink<W> {
    fn alert(&mut self, alert: &Alert) -> Result<(), OutputError> {
        let line = match self.format {
            Format::Json => alert.to_ndjson(),
            Format::Text => alert.to_text(),
        };
        self.line(&line)
    }

    fn summary(&mut self, s: &AlertSummary) -> Result<(), OutputError> {
        let line = match self.format {
            Format::Json => s.to_ndjson(),
            Format::Text => s.to_text(),
        };
        self.line(&line)
    }
}

/// An NDJSON file rotated by size: `file` → `file.1` → ... → `file.<keep>`.
pub struct FileSink {
    path: PathBuf,
    file: File,
    size: u64,
    max_bytes: u64,
    keep: u32,
}

impl FileSink {
    /// Opens (appending) `path`, rotating beyond `max_bytes`, keeping `keep` old files.
    pub fn open(path: &Path, max_bytes: u64, keep: u32) -> Result<FileSink, OutputError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| OutputError::Io {
                output: path.display().to_string(),
                source,
            })?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(FileSink {
            path: path.to_path_buf(),
            file,
            size,
            max_bytes: max_bytes.max(1),
            keep,
        })
    }

    fn rotated(&self, n: u32) -> PathBuf {
        let mut s = self.path.clone().into_os_string();
        s.push(format!(".{n}"));
        PathBuf::from(s)
    }

    fn rotate(&mut self) -> io::Result<()> {
        if self.keep == 0 {
            self.file.set_len(0)?;
        } else {
            for n in (1..self.keep).rev() {
                let from = self.rotated(n);
                if from.exists() {
                    std::fs::rename(&from, self.rotated(n + 1))?;
                }
            }
            std::fs::rename(&self.path, self.rotated(1))?;
            self.file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
        }
        self.size = 0;
        Ok(())
    }

    fn line(&mut self, line: &str) -> Result<(), OutputError> {
        let n = line.len() as u64 + 1;
        let res = (|| {
            if self.size > 0 && self.size + n > self.max_bytes {
                self.rotate()?;
            }
            writeln!(self.file, "{line}")?;
            self.size += n;
            Ok(())
        })();
        res.map_err(|source| OutputError::Io {
            output: self.path.display().to_string(),
            source,
        })
    }
}

impl Sink for FileSink {
    fn alert(&mut self, alert: &Alert) -> Result<(), OutputError> {
        self.line(&alert.to_ndjson())
    }
    fn summary(&mut self, s: &AlertSummary) -> Result<(), OutputError> {
        self.line(&s.to_ndjson())
    }
}

/// Where syslog messages go.
#[derive(Debug, Clone)]
pub enum SyslogTarget {
    /// A unix datagram socket (`/dev/log`).
    Unix(PathBuf),
    /// UDP.
    Udp(SocketAddr),
}

/// RFC 5424 syslog.
pub struct SyslogSink {
    target: SyslogTarget,
    hostname: String,
    unix: Option<UnixDatagram>,
    udp: Option<UdpSocket>,
}

/// Syslog severity of a Falco priority.
pub fn syslog_severity(priority: &str) -> u8 {
    match priority.to_ascii_uppercase().as_str() {
        "EMERGENCY" => 0,
        "ALERT" => 1,
        "CRITICAL" => 2,
        "ERROR" => 3,
        "WARNING" | "WARN" => 4,
        "NOTICE" => 5,
        "INFORMATIONAL" | "INFO" => 6,
        _ => 7,
    }
}

fn sd_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(']', "\\]")
}

/// Formats one RFC 5424 message (facility local0).
pub fn rfc5424(
    hostname: &str,
    time_ns: u64,
    priority: &str,
    rule: &str,
    attack: &[String],
    msg: &str,
) -> String {
    let pri = 16 * 8 + u32::from(syslog_severity(priority));
    let host = if hostname.is_empty() { "-" } else { hostname };
    format!(
        "<{pri}>1 {} {host} garrison {} alert [garrison@32473 rule=\"{}\" priority=\"{}\" attack=\"{}\"] {msg}",
        rfc3339(time_ns),
        std::process::id(),
        sd_escape(rule),
        sd_escape(priority),
        sd_escape(&attack.join(","))
    )
}

impl SyslogSink {
    /// A sink to `target`, naming this host `hostname`.
    pub fn new(
        target: SyslogTarget,
        hostname: impl Into<String>,
    ) -> Result<SyslogSink, OutputError> {
        let io = |source| OutputError::Io {
            output: format!("syslog {target:?}"),
            source,
        };
        let (unix, udp) = match &target {
            SyslogTarget::Unix(path) => {
                let s = UnixDatagram::unbound().map_err(io)?;
                s.connect(path).map_err(io)?;
                (Some(s), None)
            }
            SyslogTarget::Udp(addr) => {
                let bind = if addr.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let s = UdpSocket::bind(bind).map_err(io)?;
                s.connect(addr).map_err(io)?;
                (None, Some(s))
            }
        };
        Ok(SyslogSink {
            target,
            hostname: hostname.into(),
            unix,
            udp,
        })
    }

    fn send(&mut self, msg: &str) -> Result<(), OutputError> {
        let res = match (&self.unix, &self.udp) {
            (Some(s), _) => s.send(msg.as_bytes()).map(|_| ()),
            (_, Some(s)) => s.send(msg.as_bytes()).map(|_| ()),
            _ => Ok(()),
        };
        res.map_err(|source| OutputError::Io {
            output: format!("syslog {:?}", self.target),
            source,
        })
    }
}

impl Sink for SyslogSink {
    fn alert(&mut self, a: &Alert) -> Result<(), OutputError> {
        let msg = rfc5424(
            &self.hostname,
            a.time_ns,
            &a.priority,
            &a.rule,
            &a.attack,
            &a.output,
        );
        self.send(&msg)
    }
    fn summary(&mut self, s: &AlertSummary) -> Result<(), OutputError> {
        let text = format!("{} more alert(s) folded (like: {})", s.folded, s.example);
        let msg = rfc5424(
            &self.hostname,
            s.last_time_ns,
            &s.priority,
            &s.rule,
            &[],
            &text,
        );
        self.send(&msg)
    }
}

/// An HTTP webhook: each alert POSTed as JSON; failures (connection errors, 5xx,
/// 429) are retried with exponential backoff.
pub struct WebhookSink {
    url: String,
    agent: ureq::Agent,
    retries: u32,
    backoff: Duration,
}

impl WebhookSink {
    /// A webhook to `url`, retrying `retries` times starting at `backoff` (doubling).
    pub fn new(url: impl Into<String>, retries: u32, backoff: Duration) -> WebhookSink {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build()
            .into();
        WebhookSink {
            url: url.into(),
            agent,
            retries,
            backoff,
        }
    }

    fn post(&mut self, body: &str) -> Result<(), OutputError> {
        let mut delay = self.backoff;
        let mut last = String::new();
        for attempt in 0..=self.retries {
            if attempt > 0 {
                std::thread::sleep(delay);
                delay = delay.saturating_mul(2);
            }
            match self
                .agent
                .post(&self.url)
                .header("content-type", "application/json")
                .send(body)
            {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if (200..300).contains(&status) {
                        return Ok(());
                    }
                    last = format!("HTTP {status}");
                    if status != 429 && status < 500 {
                        break;
                    }
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(OutputError::Webhook {
            url: self.url.clone(),
            attempts: self.retries + 1,
            last,
        })
    }
}

impl Sink for WebhookSink {
    fn alert(&mut self, a: &Alert) -> Result<(), OutputError> {
        self.post(&a.to_ndjson())
    }
    fn summary(&mut self, s: &AlertSummary) -> Result<(), OutputError> {
        self.post(&s.to_ndjson())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::sample;
    use crate::{Engine, RuleSet};
    use garrison_event::EventKind;
    use std::io::{BufRead, BufReader, Read};
    use std::net::TcpListener;
    use std::sync::Arc;

    pub(super) fn alert_for_tests() -> Alert {
        alert()
    }

    fn alert() -> Alert {
        let set = RuleSet::from_sources(
            &[(
                "t.yaml".into(),
                "- rule: Shell\n  desc: d\n  condition: evt.type = execve and proc.name = bash\n  output: shell %proc.cmdline by %user.name\n  priority: WARNING\n  tags: [T1059.004, mitre_execution]\n".into(),
            )],
            Default::default(),
        )
        .unwrap();
        let engine = Arc::new(Engine::with_ruleset(set, vec![], "node1"));
        let mut det = engine.detector();
        let mut out = Vec::new();
        det.process(&sample(EventKind::Exec), |a| out.push(a));
        out.pop().unwrap()
    }

    #[test]
    fn file_sink_rotates_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.json");
        let a = alert();
        let line = a.to_ndjson().len() as u64 + 1;
        let mut sink = FileSink::open(&path, line * 2, 2).unwrap();
        for _ in 0..5 {
            sink.alert(&a).unwrap();
        }
        let lines = |p: &Path| std::fs::read_to_string(p).unwrap().lines().count();
        assert_eq!(lines(&path), 1);
        assert_eq!(lines(&dir.path().join("alerts.json.1")), 2);
        assert_eq!(lines(&dir.path().join("alerts.json.2")), 2);
        assert!(!dir.path().join("alerts.json.3").exists());
    }

    #[test]
    fn syslog_udp_and_unix_get_rfc5424() {
        let a = alert();
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut sink =
            SyslogSink::new(SyslogTarget::Udp(server.local_addr().unwrap()), "node1").unwrap();
        sink.alert(&a).unwrap();
        let mut buf = [0u8; 4096];
        let n = server.recv(&mut buf).unwrap();
        let msg = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(msg.starts_with("<132>1 2025-"), "{msg}");
        assert!(
            msg.contains(" node1 garrison ")
                && msg.contains("rule=\"Shell\"")
                && msg.contains("attack=\"T1059.004\""),
            "{msg}"
        );
        assert!(msg.ends_with("shell bash -c id by root"), "{msg}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        let mut sink = SyslogSink::new(SyslogTarget::Unix(path), "node1").unwrap();
        sink.alert(&a).unwrap();
        let n = server.recv(&mut buf).unwrap();
        assert!(std::str::from_utf8(&buf[..n])
            .unwrap()
            .contains("[garrison@32473 rule=\"Shell\""));
    }

    /// A loopback HTTP server answering the given statuses in turn; returns the
    /// bodies it received.
    fn server(statuses: Vec<u16>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut bodies = Vec::new();
            for status in statuses {
                let (mut stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0u8; len];
                reader.read_exact(&mut body).unwrap();
                bodies.push(String::from_utf8(body).unwrap());
                write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                )
                .unwrap();
            }
            bodies
        });
        (url, handle)
    }

    #[test]
    fn webhook_retries_with_backoff_then_delivers() {
        let (url, handle) = server(vec![503, 500, 200]);
        let mut sink = WebhookSink::new(url, 3, Duration::from_millis(5));
        sink.alert(&alert()).unwrap();
        let bodies = handle.join().unwrap();
        assert_eq!(bodies.len(), 3);
        let v: serde_json::Value = serde_json::from_str(&bodies[2]).unwrap();
        assert_eq!(v["kind"], "alert");
        assert_eq!(v["rule"], "Shell");
    }

    #[test]
    fn webhook_reports_giving_up() {
        let (url, handle) = server(vec![500, 500]);
        let mut sink = WebhookSink::new(url, 1, Duration::from_millis(1));
        let err = sink.alert(&alert()).unwrap_err().to_string();
        assert!(
            err.contains("gave up after 2 attempts") && err.contains("HTTP 500"),
            "{err}"
        );
        assert_eq!(handle.join().unwrap().len(), 2);
    }

    #[test]
    fn stream_sink_writes_json_and_text() {
        let a = alert();
        let mut s = StreamSink::new(Vec::new(), Format::Text, "stdout");
        s.alert(&a).unwrap();
        let text = String::from_utf8(s.into_inner()).unwrap();
        assert!(
            text.contains("WARNING Shell: shell bash -c id by root"),
            "{text}"
        );
    }
}

/// Fans alerts out to every sink through a [`Grouper`](crate::Grouper): repeats are
/// folded and reported in summaries, and a sink that fails is counted and reported,
/// never silently skipped.
pub struct Dispatcher {
    grouper: crate::Grouper,
    sinks: Vec<Box<dyn Sink>>,
    failures: u64,
    last_failure: Option<String>,
}

impl Dispatcher {
    /// A dispatcher over `sinks` folding repeats within `window`, at most `per_rule`
    /// alerts per rule per window.
    pub fn new(sinks: Vec<Box<dyn Sink>>, window: Duration, per_rule: u64) -> Dispatcher {
        Dispatcher {
            grouper: crate::Grouper::new(window, per_rule),
            sinks,
            failures: 0,
            last_failure: None,
        }
    }

    fn each(&mut self, mut f: impl FnMut(&mut dyn Sink) -> Result<(), OutputError>) {
        for sink in &mut self.sinks {
            if let Err(e) = f(sink.as_mut()) {
                self.failures += 1;
                self.last_failure = Some(e.to_string());
            }
        }
    }

    /// Offers one alert; it is written now or counted into a later summary.
    pub fn alert(&mut self, alert: Alert) {
        let now = alert.time_ns;
        if let crate::Grouped::Emit(a) = self.grouper.offer(alert) {
            self.each(|s| s.alert(&a));
        }
        self.tick(now);
    }

    /// Writes the summaries of windows that ended by `now_ns`.
    pub fn tick(&mut self, now_ns: u64) {
        for s in self.grouper.flush(now_ns) {
            self.each(|sink| sink.summary(&s));
        }
    }

    /// Writes every pending summary (at shutdown).
    pub fn finish(&mut self) {
        self.tick(u64::MAX);
    }

    /// Sink write failures so far, and the last one's message.
    pub fn failures(&self) -> (u64, Option<&str>) {
        (self.failures, self.last_failure.as_deref())
    }
}

#[cfg(test)]
mod dispatch_tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    struct Shared(Arc<Mutex<Vec<String>>>);
    impl Sink for Shared {
        fn alert(&mut self, a: &Alert) -> Result<(), OutputError> {
            self.0.lock().unwrap().push(a.to_ndjson());
            Ok(())
        }
        fn summary(&mut self, s: &AlertSummary) -> Result<(), OutputError> {
            self.0.lock().unwrap().push(s.to_ndjson());
            Ok(())
        }
    }

    struct Broken;
    impl Sink for Broken {
        fn alert(&mut self, _: &Alert) -> Result<(), OutputError> {
            Err(OutputError::Io {
                output: "broken".into(),
                source: io::Error::other("disk full"),
            })
        }
        fn summary(&mut self, _: &AlertSummary) -> Result<(), OutputError> {
            Ok(())
        }
    }

    #[test]
    fn repeats_become_one_summary_and_failures_are_counted() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let mut d = Dispatcher::new(
            vec![Box::new(Shared(Arc::clone(&lines))), Box::new(Broken)],
            Duration::from_secs(60),
            10,
        );
        let a = super::tests::alert_for_tests();
        for i in 0..5 {
            let mut a = a.clone();
            a.time_ns += i;
            d.alert(a);
        }
        d.finish();
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 2, "{lines:?}");
        let summary: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(summary["kind"], "alert_summary");
        assert_eq!(summary["folded"], 4);
        let (n, last) = d.failures();
        assert_eq!(n, 1);
        assert!(last.unwrap().contains("disk full"));
    }
}

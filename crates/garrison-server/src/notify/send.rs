//! Making one HTTP POST (ureq, rustls with the WebPKI roots, on a blocking
//! thread) and telling a delivered message from a failure worth retrying and
//! one that is not.

use super::message::Outgoing;
use std::io::Read;
use std::time::Duration;

/// How many bytes of a receiver's answer are kept (in the delivery log).
const KEEP_ANSWER: u64 = 512;

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// 2xx.
    Delivered {
        /// HTTP status.
        status: u16,
        /// The start of the answer.
        response: String,
    },
    /// Worth trying again: no answer (connection, timeout), 408, 429 or 5xx.
    Transient {
        /// HTTP status, when there was an answer.
        status: Option<u16>,
        /// Why.
        error: String,
        /// The receiver's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// Not worth trying again: another 4xx or a redirect (the request is wrong
    /// or the URL moved; an administrator must fix the target).
    Permanent {
        /// HTTP status.
        status: Option<u16>,
        /// Why.
        error: String,
    },
}

/// Sends messages: two ureq agents, one for loopback receivers (always
/// direct) and one for the rest (through `HTTPS_PROXY`/`HTTP_PROXY` when set,
/// honouring `NO_PROXY`). Redirects are not followed.
#[derive(Clone)]
pub struct Sender {
    direct: ureq::Agent,
    outside: ureq::Agent,
    timeout: Duration,
}

impl Sender {
    /// A sender whose every attempt ends within `timeout`.
    pub fn new(timeout: Duration) -> Sender {
        let make = |proxy: Option<ureq::Proxy>| -> ureq::Agent {
            ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                .http_status_as_error(false)
                .max_redirects(0)
                .max_redirects_will_error(false)
                .user_agent(concat!("garrison/", env!("CARGO_PKG_VERSION")))
                .proxy(proxy)
                .build()
                .into()
        };
        Sender {
            direct: make(None),
            outside: make(ureq::Proxy::try_from_env()),
            timeout,
        }
    }

    /// Sends `out` (on a blocking thread) and classifies the answer.
    pub async fn send(&self, out: Outgoing) -> SendOutcome {
        let me = self.clone();
        match tokio::task::spawn_blocking(move || me.send_blocking(&out)).await {
            Ok(o) => o,
            Err(e) => SendOutcome::Transient {
                status: None,
                error: format!("the sending thread failed: {e}"),
                retry_after: None,
            },
        }
    }

    fn agent_for(&self, url: &str) -> &ureq::Agent {
        let loopback = url::Url::parse(url)
            .ok()
            .and_then(|u| {
                u.host().map(|h| match h {
                    url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
                    url::Host::Ipv4(ip) => ip.is_loopback(),
                    url::Host::Ipv6(ip) => ip.is_loopback(),
                })
            })
            .unwrap_or(false);
        if loopback {
            &self.direct
        } else {
            &self.outside
        }
    }

    /// Sends `out` on this thread.
    pub fn send_blocking(&self, out: &Outgoing) -> SendOutcome {
        let mut req = ureq::http::Request::builder()
            .method("POST")
            .uri(&out.url)
            .header("Content-Type", "application/json");
        for (k, v) in &out.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = match req.body(out.body.clone()) {
            Ok(r) => r,
            Err(e) => {
                return SendOutcome::Permanent {
                    status: None,
                    error: format!("building the request: {e}"),
                }
            }
        };
        let mut resp = match self.agent_for(&out.url).run(req) {
            Ok(r) => r,
            Err(ureq::Error::Timeout(_)) => {
                return SendOutcome::Transient {
                    status: None,
                    error: format!("no answer within {} s", self.timeout.as_secs_f64()),
                    retry_after: None,
                }
            }
            Err(e) => {
                return SendOutcome::Transient {
                    status: None,
                    error: format!("sending: {e}"),
                    retry_after: None,
                }
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut buf = Vec::new();
        // The answer is informative only: a failure to read it changes nothing.
        let _ = resp
            .body_mut()
            .as_reader()
            .take(KEEP_ANSWER)
            .read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf).trim().to_string();
        let said = if text.is_empty() {
            String::new()
        } else {
            format!(": {text}")
        };
        match status {
            200..=299 => SendOutcome::Delivered {
                status,
                response: text,
            },
            408 | 429 | 500..=599 => SendOutcome::Transient {
                status: Some(status),
                error: format!("HTTP {status}{said}"),
                retry_after,
            },
            300..=399 => SendOutcome::Permanent {
                status: Some(status),
                error: format!(
                    "HTTP {status} (redirect to {}; redirects are not followed: set the target's URL to the final one)",
                    resp.headers()
                        .get("location")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("nowhere")
                ),
            },
            _ => SendOutcome::Permanent {
                status: Some(status),
                error: format!("HTTP {status}{said}"),
            },
        }
    }
}

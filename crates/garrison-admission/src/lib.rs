//! The Kubernetes validating admission webhook: AdmissionReview v1 over HTTPS, judged with the k8s checks of `garrison-misconfig` and CRITICAL vulnerabilities from stored scan results, plus certificate generation for it.
//!
//! - [`review`]: the verdict on one request under a [`Policy`] (mode
//!   warn/audit/enforce, excluded namespaces, unscanned-image and
//!   CRITICAL-vulnerability policies) and the response written from it.
//! - [`store`]: scan results by image digest (a folder of `garrison scan
//!   --format json` reports).
//! - [`server`]: the rustls + hyper server.
//! - [`cert`]: a CA and a serving certificate for `<service>.<namespace>.svc`.

pub mod cert;
pub mod review;
pub mod server;
pub mod store;

pub use review::{CriticalPolicy, Mode, Policy, Unscanned, Verdict};
pub use store::ScanStore;

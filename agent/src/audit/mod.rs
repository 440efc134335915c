//! The audit trail: one structured event per decision (those non-root
//! peers ask for rate-limited per uid); and the agent's own log lines,
//! written without waiting, the ones others can cause throttled.

mod event;
mod peer_limit;
mod sink;
mod stderr_line;
mod throttled_lines;

pub use event::{now_rfc3339, AuditEvent};
pub use peer_limit::{Admission, PeerAuditLimit, BURST, REFILL_EVERY};
pub use sink::{AuditSink, SinkSpec};
pub(crate) use stderr_line::write_stderr;
pub(crate) use throttled_lines::Throttled;

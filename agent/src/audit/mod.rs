//! The audit trail: one structured event per decision; and the agent's
//! own log lines, written without waiting, the ones others can cause
//! throttled.

mod event;
mod sink;
mod stderr_line;
mod throttled_lines;

pub use event::{now_rfc3339, AuditEvent};
pub use sink::{AuditSink, SinkSpec};
pub(crate) use stderr_line::write_stderr;
pub(crate) use throttled_lines::Throttled;

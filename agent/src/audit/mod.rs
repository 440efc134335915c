//! The audit trail: one structured event per decision.

mod event;
mod sink;
mod stderr_line;

pub use event::{now_rfc3339, AuditEvent};
pub use sink::{AuditSink, SinkSpec};
pub(crate) use stderr_line::write_stderr;

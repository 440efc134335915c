//! The pieces of `mfactl`.

mod check;
mod client;
pub mod commands;
pub mod doctor;
mod enroll;
mod explain;
pub mod publish;
mod sessions;
mod status;
mod sync;
pub(crate) mod tap;

pub use check::{run_check, Checked};
pub use client::{ask, AgentSocket};
pub use enroll::{
    check_piv_attestation, create_client_data_json, pem_encode, piv_policies_for,
    register_webauthn, register_webauthn_with, remember_credential, required_policy, run_enroll,
    sk_public_key_line, webauthn_spec, DeviceDoc, DeviceForm, EnrollArgs, EnrollMethod, Enrolled,
    PivEnrollArgs,
};
pub use explain::{parse_label, render, run_explain, short, ExplainArgs};
pub use sessions::{fetch_sessions, render_sessions};
pub use status::render_status;
pub use sync::{render_sync, run_sync};
pub use tap::{askpass_argv, run_tap, TapOutput, Terminal, Tty};

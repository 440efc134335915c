//! Verifiers: each checks what was signed, not what was asked for
//! (DESIGN.md "Every verifier checks what is signed").

pub mod piv_tap;
pub mod ssh_cert;
pub mod ssh_sk;
pub mod webauthn;
pub mod webauthn_browser;
pub mod webauthn_registration;
// further verifiers are declared here, one line each

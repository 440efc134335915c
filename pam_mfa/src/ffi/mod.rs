//! The C side: Linux-PAM declarations, the real [`PamHandle`], syslog, and
//! the exported `pam_sm_*` entry points. The only module with `unsafe`;
//! every block says why it is sound.
//!
//! [`PamHandle`]: crate::handle::PamHandle
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

mod argv;
pub mod consts;
mod conv;
mod entry;
mod handle;
mod peer_cred;
mod sys;
pub(crate) mod syslog;

pub use entry::{
    pam_sm_acct_mgmt, pam_sm_authenticate, pam_sm_chauthtok, pam_sm_close_session,
    pam_sm_open_session, pam_sm_setcred,
};
pub use handle::RealHandle;
pub use peer_cred::peer_uid;
pub use sys::PamHandleT;

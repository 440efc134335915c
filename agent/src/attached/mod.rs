//! Keys attached to this host (DESIGN.md, "Ways to tap" 4): for desktop and
//! console logins and local sudo/su, the agent itself runs the challenge on
//! a PIV card through pcscd or a FIDO2 key through hidraw, while the module
//! shows "Tap your security key".
//!
//! - [`HostPiv`]: how the agent reaches PIV cards ([`PcscHostPiv`] over the
//!   PC/SC client in `crate::piv::card`; tests inject others).
//! - [`ActiveTaps`]: the taps running now, capped for the host and per
//!   person.
//! - [`PinCache`]: PINs verified on a card, kept per user and card serial
//!   for the cap's `hardware_key.pin_cache_timeout` (at most one hour).
//! - [`piv_tap`]: one PIV tap, run on its own thread: find the registered
//!   card, VERIFY PIN when its policy needs one, sign a digest of the
//!   challenge (the card waits for its touch).
//! - the signature is checked by [`crate::verify::piv_tap::verify_piv_tap`],
//!   the same digest (domain-separated) and check as a `pv1.` answer.

mod active_taps;
mod pin_cache;
mod piv_host;
mod piv_pcsc;
mod piv_tap;
mod secret;

pub use active_taps::{ActiveTap, ActiveTaps, TapOwner, MAX_ACTIVE_TAPS, PER_PERSON_TAPS};
pub use pin_cache::PinCache;
pub use piv_host::{HostPiv, HostPivCard, PinRefused, UnavailableHostPiv};
pub use piv_pcsc::PcscHostPiv;
pub use piv_tap::{piv_tap, PivCandidate, PivTapOutcome};
pub use secret::{wipe, Pin};

use std::sync::Arc;

/// How this agent reaches PIV cards: pcscd.
pub fn default_host_piv() -> Arc<dyn HostPiv> {
    Arc::new(PcscHostPiv)
}

/// The FIDO2 keys attached to this host, found when a tap starts (on the
/// tap's thread).
pub type FidoSource = Arc<
    dyn Fn() -> Result<Vec<Box<dyn crate::fido2::Authenticator>>, crate::fido2::Fido2Error>
        + Send
        + Sync,
>;

/// What the agent keeps for attached keys.
pub struct AttachedKeys {
    pub piv: Arc<dyn HostPiv>,
    /// [`crate::fido2::authenticators`]: hidraw (or, in test builds with
    /// `PAM_MFA_SOFT_FIDO2`, the software authenticator).
    pub fido: FidoSource,
    pub pins: PinCache,
    /// The taps running now, per person and in all.
    pub active: ActiveTaps,
}

impl AttachedKeys {
    pub fn new(piv: Arc<dyn HostPiv>) -> AttachedKeys {
        AttachedKeys {
            piv,
            fido: Arc::new(crate::fido2::authenticators),
            pins: PinCache::default(),
            active: ActiveTaps::default(),
        }
    }
}

//! The state of a tap on a key attached to this host, kept in the
//! conversation between PAM steps (`local_tap` runs it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::attached::{PivCandidate, PivTapOutcome, TapOwner};
use crate::fido2::GetAssertionResponse;

/// Where a local tap is.
pub(super) enum LocalTap {
    /// A PIN prompt was sent for the card with this serial (0: a card
    /// whose attestation states none); the answer starts the tap.
    AskingPin(Plan, u32),
    /// The tap runs on its thread.
    Running(Running),
}

/// What to try, decided from the policy before the key is touched.
pub(super) struct Plan {
    pub(super) piv: Vec<PivCandidate>,
    pub(super) pin_cache_timeout: Duration,
    /// Whom the running tap counts against.
    pub(super) owner: TapOwner,
}

pub(super) struct Running {
    pub(super) rx: mpsc::Receiver<TapResult>,
    pub(super) cancelled: Arc<AtomicBool>,
    pub(super) deadline: Instant,
    pub(super) plan: Plan,
    /// The PIN came from the cache (a refusal then forgets it).
    pub(super) pin_from_cache: bool,
}

impl Drop for Running {
    /// The connection went away or the login ended: the thread's result,
    /// when it comes, is dropped; a FIDO2 key is told to stop at its next
    /// keep-alive (the tap's slot is freed then), a PIV card's wait ends
    /// with the card's own.
    fn drop(&mut self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }
}

pub(super) enum TapResult {
    Piv(PivTapOutcome),
    /// The device index and the assertion, or why none came.
    Fido(Result<(usize, GetAssertionResponse), String>),
}

//! Best-effort wiping of answers once they are no longer needed.

use std::hint::black_box;

/// Overwrites the bytes of `s` before its memory is released.
pub fn wipe(s: String) {
    wipe_bytes(s.into_bytes());
}

/// Overwrites `bytes` before their memory is released.
pub fn wipe_bytes(mut bytes: Vec<u8>) {
    bytes.fill(0);
    // Keeps the zeroing stores from being removed as dead before the free.
    black_box(&mut bytes);
}

/// Wipes every answer in `answers`.
pub fn wipe_all<I: IntoIterator<Item = String>>(answers: I) {
    answers.into_iter().for_each(wipe);
}

/// Wipes every present response in `responses`.
pub fn wipe_responses(responses: Vec<Option<String>>) {
    wipe_all(responses.into_iter().flatten());
}

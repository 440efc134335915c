//! Challenges the agent issues, and the answers that satisfy them.

mod answer;
mod signature_counters;
mod token;

pub use answer::{key_digest, Answer, MAX_ANSWER};
pub use signature_counters::{SaveFailureReport, SignatureCounters, COUNTERS_FILE};
pub use token::{find_challenge, Challenge, ParsedChallenge, PREFIX};

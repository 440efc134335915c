//! Challenges the agent issues, and the answers that satisfy them.

mod answer;
mod claim;
mod signature_counters;
mod token;
mod used;

pub use answer::{key_digest, Answer};
pub use claim::MAX_ANSWER;
pub use claim::{split_claim, with_claim, CLAIMS_WELCOME};
pub use signature_counters::{SaveFailureReport, SignatureCounters, COUNTERS_FILE};
pub use token::{find_challenge, Challenge, ParsedChallenge, PREFIX};
pub use used::UsedChallenges;

//! The credential ids of a tap prompt, as `mfactl tap` reads them from
//! text a person pastes or ssh hands its askpass: the question's `cred=`
//! list and `cred_more=N` count, and the `cred+=` info lines above it.
//! The same input is read two ways:
//! - as the prompt text (lossy UTF-8): every id read is non-empty, at most
//!   WebAuthn's 1023 bytes, and its base64url spelling is in the text;
//! - as credential ids (a room byte, then ids each behind a 2-byte length)
//!   that the agent's packer (`pack_credential_ids`) lays out as the
//!   question's words and `cred+=` lines: the lines and words keep within
//!   PAM's message and the room, mfactl reads the whole prompt back as the
//!   same set of ids with none missing, and the question alone as some of
//!   them with the rest counted missing.
#![no_main]

use std::collections::BTreeSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use mfa_agent::fuzz_access::{
    pack_credential_ids_for_fuzzing, prompt_credential_ids, prompt_missing_ids,
};

/// PAM's message limit without its NUL, and WebAuthn's longest id.
const PAM_MESSAGE_ROOM: usize = 511;
const MAX_ID_LEN: usize = 1023;
/// At most this many `cred+=` lines in a prompt.
const MAX_LINES: usize = 8;

fn read_text(text: &str) {
    let ids = prompt_credential_ids(text);
    let _ = prompt_missing_ids(text);
    for id in ids.iter().flatten() {
        assert!(
            !id.is_empty() && id.len() <= MAX_ID_LEN,
            "{} bytes",
            id.len()
        );
        let spelled = URL_SAFE_NO_PAD.encode(id);
        assert!(text.contains(&spelled), "{spelled} is not in the prompt");
    }
}

/// A room byte, then ids: a 2-byte length (up to 1023) and the bytes.
fn ids_of(data: &[u8]) -> (usize, Vec<String>) {
    let Some((&room, mut rest)) = data.split_first() else {
        return (0, Vec::new());
    };
    let mut ids = Vec::new();
    while let [a, b, tail @ ..] = rest {
        let len = (usize::from(u16::from_be_bytes([*a, *b])) % MAX_ID_LEN).max(1);
        let take = len.min(tail.len());
        if take == 0 {
            break;
        }
        ids.push(URL_SAFE_NO_PAD.encode(&tail[..take]));
        rest = &tail[take..];
    }
    // The room the question leaves for the words, as the agent computes it.
    (usize::from(room) * 2, ids)
}

fn as_set(ids: Option<Vec<Vec<u8>>>) -> BTreeSet<String> {
    ids.into_iter()
        .flatten()
        .map(|id| URL_SAFE_NO_PAD.encode(id))
        .collect()
}

fn round_trip(data: &[u8]) {
    let (room, ids) = ids_of(data);
    let Some((word, lines)) = pack_credential_ids_for_fuzzing(&ids, room) else {
        return;
    };
    assert!(word.len() <= room, "the words overflow the room: {word}");
    assert!(lines.len() <= MAX_LINES);
    assert!(lines.iter().all(|l| l.len() <= PAM_MESSAGE_ROOM));
    let question = format!(
        "MFA challenge pmfa1:node1:jerry:AAAA rp_id=example.com{word} answers=named answer: "
    );
    let mut prompt = lines.join("\n");
    prompt.push('\n');
    prompt.push_str(&question);
    let all: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(as_set(prompt_credential_ids(&prompt)), all);
    assert_eq!(prompt_missing_ids(&prompt), 0);
    // Pasted without the lines: the question's ids, the others counted.
    let on_lines: usize = lines.iter().map(|l| l.split(',').count()).sum();
    let in_question = as_set(prompt_credential_ids(&question));
    assert!(in_question.is_subset(&all));
    assert_eq!(prompt_missing_ids(&question), on_lines);
    if lines.is_empty() && !ids.is_empty() {
        assert_eq!(in_question, all);
    }
}

fuzz_target!(|data: &[u8]| {
    read_text(&String::from_utf8_lossy(data));
    round_trip(data);
});

//! authorized_keys lines: the options of the line in the user's own files
//! that lists a registered key (`no-touch-required`, `verify-required`).
//! Property: no panic; a key the text does not contain is never "listed".
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_agent::login::{find_key, UserFileVerdict};

const SK_TYPE: &str = "sk-ssh-ed25519@openssh.com";
const SK_BLOB: &str = "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIKzD2Z5Y0Yb1m1I4oL3aW4JQ7mS8tT2xQ0nC7yV3uZbGAAAABHNzaDo=";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A fixed registered key, and the first two words of the input's last
    // line as the key (so the fuzzer can match a key it wrote itself).
    let mut words = text.lines().last().unwrap_or("").split_ascii_whitespace();
    let mut keys = vec![(SK_TYPE, SK_BLOB)];
    if let (Some(t), Some(b)) = (words.next(), words.next()) {
        keys.push((t, b));
    }
    for (key_type, blob) in keys {
        if let Some(UserFileVerdict::Listed { .. }) = find_key(text, key_type, blob) {
            assert!(
                text.contains(blob),
                "listed a key the text does not contain"
            );
        }
    }
});

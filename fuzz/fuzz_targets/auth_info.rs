//! `SSH_AUTH_INFO_0`: what sshd says it accepted (read by the agent from the
//! PAM environment of a login). Property: no panic; every key it returns is
//! one the text listed as `publickey`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for key in mfa_agent::login::accepted_keys(text) {
        assert!(
            text.contains(&key.key_type),
            "a key type that was not in the text"
        );
        assert!(
            text.contains(&key.blob),
            "a key blob that was not in the text"
        );
    }
});

//! pam_mfa.so's arguments (the words after the module in a PAM stack).
//! Property: no panic; a parsed socket is absolute and timeouts are within
//! their documented range.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_mfa::args::Config;

fuzz_target!(|data: &[u8]| {
    // The FFI layer turns bytes that are not UTF-8 into U+FFFD.
    let text = String::from_utf8_lossy(data);
    // PAM splits the line on whitespace; '\n' separates arguments here so
    // that arguments with spaces (brackets in pam.d) are reachable too.
    let args: Vec<&str> = if text.contains('\n') {
        text.split('\n').collect()
    } else {
        text.split_ascii_whitespace().collect()
    };
    if let Ok(config) = Config::parse(&args) {
        assert!(
            config.socket.is_absolute(),
            "a relative socket path was accepted"
        );
        for t in [config.timeout, config.wait_timeout] {
            assert!((1..=300).contains(&t.as_secs()), "a timeout out of range");
        }
    }
});

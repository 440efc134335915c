//! Policy bundles as JSON (one object or an array, as a policy host may serve them) (the loader the agent runs on every
//! fetched or local bundle). Property: no panic, no hang; an error names a
//! place in the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match mfa_agent::policy::load_bundle_str(text, "fuzz.json") {
        Ok(bundle) => {
            // Walk what a decision reads, so lazily built parts run too.
            let _ = bundle.users_for_login("root");
            let _ = bundle.user_cert_authorities();
        }
        Err(e) => assert_eq!(e.file, "fuzz.json", "an error names its file"),
    }
});

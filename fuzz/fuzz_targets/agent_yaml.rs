//! agent.yaml, the agent's configuration (read at start and on reload).
//! Property: no panic; what parses yields a policy source and a service map
//! or a clear error, never a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_agent::config::AgentConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = AgentConfig::parse(text, "fuzz-agent.yaml") {
        let _ = config.policy_source();
        let _ = config.service_map();
        let _ = config.node_name();
        let _ = config.sshd_enforces_touch();
        let _ = config.sshd_enforces_verify();
    }
});

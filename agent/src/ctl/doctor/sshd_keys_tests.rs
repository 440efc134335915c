//! sshd and the agent disagreeing about keys: `AuthorizedKeysFile` against
//! `sshd.authorized_keys_files`, and Match blocks that set it or
//! `PubkeyAuthOptions` for some connections.

use super::tests::{good, the_finding, with_sshd};
use super::{check_host, exit_code, MatchSetting, Severity};
use crate::config::AgentConfig;

const AKF: &str = "authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2";

fn with_agent_files(files: &str) -> super::Facts {
    let mut f = good();
    let yaml = format!(
        "node:\n  name: prod3\n  id: 5f0e8a3c-2b1d-4c6e-9f7a-8d3b2c1e0f4a\n  labels: {{ env: prod }}\nsshd:\n  pubkey_auth_options: [touch-required]\n  authorized_keys_files: {files}\n"
    );
    f.agent_config = Some(Ok(AgentConfig::parse(&yaml, "agent.yaml").unwrap()));
    f
}

#[test]
fn a_file_sshd_reads_and_the_agent_does_not_is_an_error() {
    // sshd also reads a central file the agent never looks at.
    let f = with_sshd(AKF, &format!("{AKF} /etc/ssh/keys/%u"));
    let found = check_host(&f);
    assert_eq!(
        found.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
        ["sshd.authorized_keys_file"]
    );
    let x = &found[0];
    assert_eq!(x.severity, Severity::Error);
    assert_eq!(exit_code(&found), 2);
    assert!(x.what.contains("/etc/ssh/keys/%u"), "{}", x.what);
    assert!(x.why.contains("no-touch-required"), "{}", x.why);
    assert!(
        x.fix.contains(
            "sshd.authorized_keys_files: [\".ssh/authorized_keys\", \".ssh/authorized_keys2\", \"/etc/ssh/keys/%u\"]"
        ),
        "{}",
        x.fix
    );
    // The reverse (a file only the agent reads), and no file at all for sshd.
    let f = with_sshd(AKF, "authorizedkeysfile .ssh/authorized_keys");
    assert_eq!(exit_code(&check_host(&f)), 2);
    let f = with_sshd(AKF, "authorizedkeysfile none");
    assert_eq!(exit_code(&check_host(&f)), 2);
}

#[test]
fn the_same_files_written_another_way_agree() {
    // A relative path is in the home directory, as sshd reads it.
    let f = with_agent_files("[\"%h/.ssh/authorized_keys2\", \".ssh/authorized_keys\"]");
    assert_eq!(check_host(&f), vec![]);
    let mut f = with_sshd(AKF, "authorizedkeysfile none");
    f.agent_config = with_agent_files("[]").agent_config;
    assert_eq!(check_host(&f), vec![]);
}

#[test]
fn match_blocks_that_set_key_options_are_errors() {
    let mut f = good();
    f.sshd_match_settings = Some(Ok(vec![MatchSetting {
        at: "/etc/ssh/sshd_config.d/50-bob.conf:2".into(),
        keyword: "PubkeyAuthOptions".into(),
        value: "none".into(),
        criteria: "User bob".into(),
        block: "/etc/ssh/sshd_config.d/50-bob.conf:1".into(),
    }]));
    let x = &the_finding(&f, "sshd.match_key_settings", Severity::Error);
    assert!(
        x.what.contains("50-bob.conf:2") && x.what.contains("Match User bob"),
        "{}",
        x.what
    );
    assert!(x.fix.contains("before any Match block"), "{}", x.fix);
    // Files doctor cannot read: it says it could not check (a warning).
    f.sshd_match_settings = Some(Err("/etc/ssh/sshd_config: denied".into()));
    let found = check_host(&f);
    assert_eq!(found[0].id, "sshd.match_unchecked");
    assert_eq!(exit_code(&found), 1);
}

//! One deliberately broken host per finding, from a host that passes.

use std::collections::BTreeMap;

use pam_mfa_protocol::{StatusReport, SyncStatus};

use super::{check_host, exit_code, DropInPlace, Facts, Finding, GlobalSettings, Severity};
use crate::config::AgentConfig;

pub(super) const SSHD_T: &str = "usepam yes\nkbdinteractiveauthentication yes\n\
authenticationmethods publickey,keyboard-interactive\nexposeauthinfo yes\n\
authorizedkeyscommand /usr/bin/mfactl authorized-keys %u\nauthorizedkeyscommanduser nobody\n\
pubkeyauthoptions touch-required\npermitrootlogin yes\n\
authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2\n";

const AGENT_YAML: &str = "node:\n  name: prod3\n  id: 5f0e8a3c-2b1d-4c6e-9f7a-8d3b2c1e0f4a\n  labels: { env: prod }\nsshd:\n  pubkey_auth_options: [touch-required]\n";

pub(super) const COMMON_AUTH: &str = "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\nauth required pam_permit.so\n";

pub(super) fn good() -> Facts {
    let mut pam = BTreeMap::new();
    pam.insert(
        "sshd".to_string(),
        "auth required pam_mfa.so\naccount required pam_mfa.so\n@include common-account\n@include common-session\nsession required pam_mfa.so\n".to_string(),
    );
    pam.insert("common-auth".into(), COMMON_AUTH.into());
    pam.insert(
        "common-account".into(),
        "account required pam_unix.so\n".into(),
    );
    pam.insert(
        "common-session".into(),
        "session required pam_unix.so\n".into(),
    );
    pam.insert(
        "sudo".into(),
        "@include common-auth\nauth required pam_mfa.so\n".into(),
    );
    Facts {
        sshd: Some(Ok(SSHD_T.into())),
        sshd_root: Some(Ok(SSHD_T.into())),
        sshd_match_settings: Some(Ok(Vec::new())),
        sshd_global_settings: Some(Ok(GlobalSettings {
            by_keyword: BTreeMap::new(),
            drop_in: DropInPlace {
                path: "/etc/ssh/sshd_config.d/pam-mfa.conf".into(),
                exists: true,
                order: Some(0),
            },
        })),
        ak_command_path: vec![
            ("/usr/bin/mfactl".into(), Ok((0, 0o755))),
            ("/usr/bin".into(), Ok((0, 0o755))),
            ("/usr".into(), Ok((0, 0o755))),
            ("/".into(), Ok((0, 0o755))),
        ],
        pam_files: pam,
        pam_dir: "/etc/pam.d".into(),
        sudoers_passwordless: Vec::new(),
        sudoers_passwordless_logins: Vec::new(),
        sudoers_no_account: Vec::new(),
        sudo_version: Some(
            "Sudo version 1.9.13p3\nAuthentication timestamp timeout: 0.0 minutes\n".into(),
        ),
        agent_config: Some(Ok(AgentConfig::parse(AGENT_YAML, "agent.yaml").unwrap())),
        agent_config_path: "/etc/pam-mfa/agent.yaml".into(),
        shared_uids: Vec::new(),
        agent_status: Some(Ok(StatusReport {
            agent_version: "t".into(),
            node: "prod3".into(),
            node_id: Some("5f0e8a3c-2b1d-4c6e-9f7a-8d3b2c1e0f4a".into()),
            node_id_source: "from agent.yaml node.id".into(),
            labels: [("env".to_string(), "prod".to_string())].into(),
            policy_source: "file:///etc/pam-mfa/policy.d".into(),
            policy_revision: "abc".into(),
            last_load: None,
            last_error: None,
            counts: Default::default(),
            decisions: Default::default(),
            uptime_seconds: 1,
            sync: Box::new(SyncStatus {
                policy_state: "usable".into(),
                ..SyncStatus::default()
            }),
            approval: None,
            ..StatusReport::default()
        })),
        login_decisions: None,
    }
}

/// The one finding on `f`, checked to be `id` with `severity`.
pub(super) fn the_finding(f: &Facts, id: &str, severity: Severity) -> Finding {
    let mut found = check_host(f);
    assert_eq!(found.len(), 1, "{found:#?}");
    let x = found.remove(0);
    assert_eq!((x.id.as_str(), x.severity), (id, severity), "{x:#?}");
    x
}

/// The ids found, in order.
pub(super) fn ids(f: &Facts) -> Vec<String> {
    check_host(f).into_iter().map(|x| x.id).collect()
}

pub(super) fn with_sshd(line_from: &str, line_to: &str) -> Facts {
    let mut f = good();
    let t = SSHD_T.replace(line_from, line_to);
    assert_ne!(t, SSHD_T, "{line_from} not in the sample");
    f.sshd = Some(Ok(t.clone()));
    f.sshd_root = Some(Ok(t));
    f
}

#[test]
fn a_good_host_has_no_findings() {
    let f = good();
    assert_eq!(check_host(&f), vec![]);
    assert_eq!(exit_code(&check_host(&f)), 0);
}

#[test]
fn each_sshd_setting_pam_mfa_needs_is_its_own_finding() {
    for (from, to, id) in [
        ("usepam yes", "usepam no", "sshd.use_pam"),
        (
            "kbdinteractiveauthentication yes",
            "kbdinteractiveauthentication no",
            "sshd.kbd_interactive",
        ),
        (
            "authenticationmethods publickey,keyboard-interactive",
            "authenticationmethods any",
            "sshd.authentication_methods",
        ),
        (
            "exposeauthinfo yes",
            "exposeauthinfo no",
            "sshd.expose_auth_info",
        ),
        (
            "authorizedkeyscommand /usr/bin/mfactl authorized-keys %u",
            "authorizedkeyscommand none",
            "sshd.authorized_keys_command",
        ),
        (
            "authorizedkeyscommanduser nobody",
            "authorizedkeyscommanduser sshd",
            "sshd.authorized_keys_command_user",
        ),
    ] {
        let found = check_host(&with_sshd(from, to));
        assert!(
            found
                .iter()
                .any(|x| x.id == id && x.severity == Severity::Error),
            "{to}: {found:?}"
        );
        assert_eq!(exit_code(&found), 2);
    }
}

#[test]
fn a_key_after_the_password_or_keyboard_interactive_alone_is_refused() {
    let f = with_sshd(
        "authenticationmethods publickey,keyboard-interactive",
        "authenticationmethods publickey,keyboard-interactive keyboard-interactive",
    );
    assert!(ids(&f).contains(&"sshd.authentication_methods".to_string()));
    let f = with_sshd(
        "authenticationmethods publickey,keyboard-interactive",
        "authenticationmethods keyboard-interactive,publickey",
    );
    assert!(ids(&f).contains(&"sshd.authentication_methods".to_string()));
}

#[test]
fn prohibit_password_for_root_with_keyboard_interactive_is_a_lockout() {
    let mut f = good();
    f.sshd_root = Some(Ok(
        SSHD_T.replace("permitrootlogin yes", "permitrootlogin prohibit-password")
    ));
    let found = check_host(&f);
    let x = found
        .iter()
        .find(|x| x.id == "sshd.permit_root_login")
        .expect("finding");
    assert_eq!(x.severity, Severity::Error);
    assert!(x.fix.contains("PermitRootLogin yes"), "{}", x.fix);
    // `no` keeps root out on purpose: not a finding.
    f.sshd_root = Some(Ok(
        SSHD_T.replace("permitrootlogin yes", "permitrootlogin no")
    ));
    assert_eq!(ids(&f), Vec::<String>::new());
    // yes with a password-only path for root (a Match block): a finding.
    f.sshd_root = Some(Ok(SSHD_T.replace(
        "authenticationmethods publickey,keyboard-interactive",
        "authenticationmethods any",
    )));
    assert!(ids(&f).contains(&"sshd.root_authentication_methods".to_string()));
}

#[test]
fn pubkey_auth_options_are_compared_with_what_the_agent_credits() {
    // The agent credits a touch sshd does not enforce: an error.
    let f = with_sshd("pubkeyauthoptions touch-required", "pubkeyauthoptions none");
    let found = check_host(&f);
    let x = found
        .iter()
        .find(|x| x.id == "sshd.pubkey_auth_options")
        .expect("finding");
    assert_eq!(x.severity, Severity::Error);
    // sshd enforces more than the agent credits: a warning.
    let f = with_sshd(
        "pubkeyauthoptions touch-required",
        "pubkeyauthoptions touch-required,verify-required",
    );
    let found = check_host(&f);
    let x = found
        .iter()
        .find(|x| x.id == "sshd.pubkey_auth_options")
        .expect("finding");
    assert_eq!(x.severity, Severity::Warning);
    assert!(x.fix.contains("verify-required"));
}

#[test]
fn a_keys_command_path_sshd_will_not_run_is_found() {
    let mut f = good();
    f.ak_command_path[1].1 = Ok((0, 0o777));
    let found = check_host(&f);
    assert!(
        found
            .iter()
            .any(|x| x.id == "sshd.authorized_keys_command_path" && x.what.contains("/usr/bin ")),
        "{found:?}"
    );
    let mut f = good();
    f.ak_command_path[0].1 = Ok((1000, 0o755));
    assert!(ids(&f).contains(&"sshd.authorized_keys_command_path".to_string()));
    let mut f = good();
    f.ak_command_path[0].1 = Err("No such file or directory".into());
    assert!(ids(&f).contains(&"sshd.authorized_keys_command_path".to_string()));
}

#[test]
fn sshd_that_cannot_be_read_is_a_finding() {
    let mut f = good();
    f.sshd = Some(Err(
        "Missing privilege separation directory: /run/sshd".into()
    ));
    assert!(ids(&f).contains(&"sshd.unreadable".to_string()));
}

pub(super) fn with_pam(name: &str, text: &str) -> Facts {
    let mut f = good();
    f.pam_files.insert(name.into(), text.into());
    f
}

#[test]
fn pam_mfa_missing_duplicated_or_where_it_does_not_run() {
    let f = with_pam("sshd", "@include common-auth\n@include common-account\naccount required pam_mfa.so\nsession required pam_mfa.so\n");
    let got = ids(&f);
    assert!(got.contains(&"pam.sshd.missing".to_string()), "{got:?}");
    let f = with_pam("sudo", "@include common-auth\n");
    assert!(ids(&f).contains(&"pam.sudo.missing".to_string()));
    // pam-auth-update put it in common-auth, and sudo has its own line too.
    let mut f = with_pam(
        "common-auth",
        &format!("{COMMON_AUTH}auth required pam_mfa.so\n"),
    );
    f.pam_files.insert(
        "sshd".into(),
        "auth required pam_mfa.so\naccount required pam_mfa.so\nsession required pam_mfa.so\n"
            .into(),
    );
    assert_eq!(ids(&f), ["pam.sudo.duplicated"]);
    // Debian's su: root needs no tap to become anyone (pam_rootok).
    let f = with_pam(
        "su",
        "auth sufficient pam_rootok.so\n@include common-auth\nauth required pam_mfa.so\n",
    );
    assert_eq!(ids(&f), Vec::<String>::new());
    // A jump over it, a sufficient line before it, its own `optional`.
    for sudo in [
        "auth [success=1 default=ignore] pam_unix.so\nauth required pam_mfa.so\nauth required pam_permit.so\n",
        "auth sufficient pam_unix.so\nauth required pam_mfa.so\n",
        "@include common-auth\nauth optional pam_mfa.so\n",
    ] {
        let f = with_pam("sudo", sudo);
        assert!(ids(&f).contains(&"pam.sudo.not_effective".to_string()), "{sudo}");
    }
}

#[test]
fn sshd_asking_the_password_after_the_key_and_missing_phases() {
    let f = with_pam("sshd", "@include common-auth\nauth required pam_mfa.so\n");
    let got = ids(&f);
    assert!(
        got.contains(&"pam.sshd.password_after_key".to_string()),
        "{got:?}"
    );
    assert!(
        got.contains(&"pam.sshd.account_missing".to_string()),
        "{got:?}"
    );
    assert!(
        got.contains(&"pam.sshd.session_missing".to_string()),
        "{got:?}"
    );
}

#[test]
fn sudo_caching_taps_is_a_warning() {
    let mut f = good();
    f.sudo_version = Some("Authentication timestamp timeout: 15.0 minutes\n".into());
    let found = check_host(&f);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, "sudo.timestamp_timeout");
    assert_eq!(exit_code(&found), 1);
}

#[test]
fn the_agent_down_stale_unreloaded_or_unlabelled() {
    let mut f = good();
    f.agent_status = Some(Err("cannot reach mfa-agent".into()));
    assert_eq!(ids(&f), ["agent.not_running"]);

    let mut f = good();
    if let Some(Ok(s)) = &mut f.agent_status {
        s.sync.policy_state = "stale: no contact with the source for 25h".into();
    }
    assert_eq!(ids(&f), ["agent.policy_unusable"]);

    let mut f = good();
    if let Some(Ok(s)) = &mut f.agent_status {
        s.node = "debian".into();
        s.labels.clear();
    }
    assert_eq!(ids(&f), ["agent.config_not_reloaded"]);

    let mut f = good();
    f.agent_config = Some(Ok(AgentConfig::parse(
        "cluster:\n  source: builtin:example\n",
        "a",
    )
    .unwrap()));
    let got = ids(&f);
    assert!(
        got.contains(&"agent.node_name_unset".to_string()),
        "{got:?}"
    );
    assert!(
        got.contains(&"agent.node_labels_unset".to_string()),
        "{got:?}"
    );

    let mut f = good();
    f.agent_config = Some(Err("agent.yaml:2:3: unknown field `labls`".into()));
    assert!(ids(&f).contains(&"agent.config_invalid".to_string()));
}

#[test]
fn a_bundle_source_over_https_is_warned_a_manifest_source_is_not() {
    let with_source = |source: &str, extra: &str| {
        let mut f = good();
        let text = format!(
            "node: {{name: n, labels: {{env: dev}}}}\ncluster:\n  source: {source}\n{extra}"
        );
        f.agent_config = Some(Ok(AgentConfig::parse(&text, "a").unwrap()));
        ids(&f)
    };
    let rollback = "agent.no_rollback_protection".to_string();
    assert!(with_source("https://p.example/bundle.yaml", "").contains(&rollback));
    let key = format!(
        "ed25519:{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            ed25519_dalek::SigningKey::from_bytes(&[7; 32])
                .verifying_key()
                .to_bytes()
        )
    );
    let manifest = with_source(
        "https://p.example/manifest.json",
        &format!("  source_name: prod\n  signing_keys: [\"{key}\"]\n"),
    );
    assert!(!manifest.contains(&rollback), "{manifest:?}");
    // Unsigned, whoever answers chooses who logs in: an error; signed, not.
    let unsigned = "agent.unsigned_source".to_string();
    assert!(with_source("https://p.example/bundle.yaml", "").contains(&unsigned));
    let signed = with_source(
        "https://p.example/bundle.yaml",
        &format!("  signing_keys: [\"{key}\"]\n"),
    );
    assert!(!signed.contains(&unsigned), "{signed:?}");
    assert!(!manifest.contains(&unsigned), "{manifest:?}");
}

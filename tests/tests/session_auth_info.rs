//! `open_session` never trusts `SSH_AUTH_INFO_0` from the PAM environment:
//! with `pam_env user_readenv=1` before pam_mfa.so in sshd's session stack,
//! a user's `~/.pam_environment` sets it to a registered security key the
//! login never used. The session records what auth/account saw (a plain key
//! on a dev node: nothing needed), not the injected key.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::thread;
use std::time::Duration;

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::process::wait_until;
use pam_mfa_e2e::ssh::SshLogin;
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};
use serde_json::Value;

#[test]
fn a_user_set_ssh_auth_info_does_not_become_the_sessions_evidence() {
    require_root!();
    let work = WorkDir::new("session-info");
    let user = TestUser::create();
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    let sk = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    user.authorize_keys(&[plain.public_line.as_str()]);
    let injected = format!("publickey {} {}", sk.key_type(), sk.blob());
    let env_file = user.home.join(".pam_environment");
    // A canary beside it shows the file was read (sshd keeps SSH_AUTH_INFO_*
    // itself out of the session's environment).
    std::fs::write(
        &env_file,
        format!("SSH_AUTH_INFO_0 DEFAULT=\"{injected}\"\nPAM_MFA_CANARY DEFAULT=read\n"),
    )
    .unwrap();
    std::fs::set_permissions(&env_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::chown(&env_file, Some(user.uid), Some(user.gid)).unwrap();

    let service = unique_name("sshd-mfat");
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env("dev").service(&service, "ssh"),
        &bundle(&user.name, "false", "true", &[&sk]),
    );
    let m = bins::pam_module();
    bins::require(&m);
    let args = module_args(&agent.socket, "");
    let stack = format!(
        "auth required {m} {args}\naccount required {m} {args}\n\
         session required pam_env.so user_readenv=1\nsession required {m} {args}\n",
        m = m.display()
    );
    let sshd = Sshd::start(
        &work,
        &SshdOptions::new(&stack)
            .keys_from_agent(&agent.socket)
            .service_name(&service),
    );
    let sessions = || -> Vec<Value> {
        let f = agent.mfactl(&["sessions", "--json"]);
        assert!(f.success(), "{f:?}");
        let list: Vec<Value> = serde_json::from_str(&f.stdout).unwrap();
        list.into_iter()
            .filter(|s| field(s, "login") == user.name)
            .collect()
    };
    thread::scope(|scope| {
        let client = scope.spawn(|| {
            let mut l = SshLogin::new(sshd.port, &user.name, &plain);
            l.timeout = Duration::from_secs(30);
            l.run(&work, "printenv PAM_MFA_CANARY; sleep 3")
        });
        let mut listed = None;
        wait_until(Duration::from_secs(20), Duration::from_millis(100), || {
            listed = sessions().into_iter().next();
            listed.is_some()
        });
        let s = listed.unwrap_or_else(|| panic!("no session:\n{}", agent.audit_text()));
        let out = client.join().expect("ssh thread");
        assert!(out.success(), "{}\n{}", out.describe(), agent.audit_text());
        // The user's file was read (its SSH_AUTH_INFO_0 line with it)...
        assert_eq!(
            out.stdout().trim(),
            "read",
            "pam_env did not set it: {}",
            out.describe()
        );
        // ...and the session did not take it as what the login proved.
        assert_eq!(field(&s, "evidence"), "none needed", "{s}");
        assert!(s.get("device").is_none_or(Value::is_null), "{s}");
    });
}

//! A live SSH session under `disconnect_expired_cert` ends at its Teleport
//! certificate's end, as Teleport's session monitor arms a timer for it
//! (lib/srv/monitor.go `Monitor.start`), not at the agent's next
//! `sessions.check_interval`: here an hour, so only that timer can end it.

mod common;

use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::user_ca::{certify_teleport, cluster_ca};
use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle, WEBAUTHN_RP_ID};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::process::wait_until;
use pam_mfa_e2e::ssh::SshLogin;
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};
use serde_json::Value;

/// How late after the certificate's end the session may end: signals, the
/// ssh client noticing, a loaded machine. Far below the hour the interval
/// would take.
const LATE: Duration = Duration::from_secs(5);

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The cap with `disconnect_expired_cert`, no session MFA beyond the roles'.
fn cap_disconnecting() -> String {
    format!(
        "kind: cluster_auth_preference\nversion: v2\nmetadata:\n  name: cluster-auth-preference\n\
spec:\n  type: local\n  second_factor: on\n  require_session_mfa: false\n  disconnect_expired_cert: true\n  webauthn:\n    rp_id: {WEBAUTHN_RP_ID}\n"
    )
}

fn my_sessions(agent: &Agent, login: &str) -> Vec<Value> {
    let f = agent.mfactl(&["sessions", "--json"]);
    assert!(f.success(), "mfactl sessions: {} {}", f.stdout, f.stderr);
    match serde_json::from_str(&f.stdout) {
        Ok(Value::Array(list)) => list
            .into_iter()
            .filter(|s| field(s, "login") == login)
            .collect(),
        other => panic!("mfactl sessions --json printed {other:?}: {}", f.stdout),
    }
}

#[test]
fn a_session_ends_at_its_certificates_end_not_at_the_next_check() {
    require_root!();
    let work = WorkDir::new("sessions-cert-end");
    let user = TestUser::create();
    let (ca, ca_line, ca_doc) = cluster_ca(&work, "ca_trusted", "example.com", "");
    let ca_file = work.write("trusted_user_cas", &ca_line, 0o644);
    let bundle = Bundle::new()
        .scenario_roles("true")
        .raw(&cap_disconnecting())
        .raw(&ca_doc);
    let service = unique_name("sshd-mfat");
    let config = AgentConfig {
        extra_yaml: "sessions:\n  end_grace: 2s\n  check_interval: 1h\n".into(),
        ..AgentConfig::with_env("prod").service(&service, "ssh")
    };
    let agent = Agent::start(&work, &config, &bundle);
    let mut opts =
        SshdOptions::new(&sshd_stack_with_sessions(&agent.socket)).service_name(&service);
    opts.extra
        .push(format!("TrustedUserCAKeys {}", ca_file.display()));
    let sshd = Sshd::start(&work, &opts);
    let key = SshKey::generate(work.path(), "id_cert", KeyKind::Ed25519, false);
    // Room for the login; the session must be open before the end.
    let valid_before = unix_now() as u64 + 15;
    certify_teleport(
        &ca,
        &key,
        &user.name,
        &["access-prod"],
        &format!("-5m:0x{valid_before:x}"),
        &["extension:mfa-verified=device-1"],
    );
    let mut login = SshLogin::new(sshd.port, &user.name, &key).answer("nothing");
    login.timeout = Duration::from_secs(90);
    let client_work = WorkDir::new("sessions-cert-end-client");
    let client = thread::spawn(move || {
        let out = login.run(&client_work, "sleep 300");
        (out, unix_now())
    });
    let listed = wait_until(Duration::from_secs(20), Duration::from_millis(100), || {
        !my_sessions(&agent, &user.name).is_empty()
    });
    let listed_at = unix_now();
    assert!(listed, "no session listed\n{}", agent.evidence());
    assert!(
        listed_at < valid_before as f64,
        "the login took past the certificate's end; nothing measured"
    );
    let (out, exited_at) = client.join().expect("ssh thread");
    let late = exited_at - valid_before as f64;
    eprintln!(
        "SESSIONS-FIGURE certificate end -> ssh exited: {:.0} ms",
        late * 1000.0
    );
    assert!(!out.success(), "{}", out.describe());
    assert!(
        late >= 0.0,
        "ended {:.1}s before the certificate's end",
        -late
    );
    assert!(
        late < LATE.as_secs_f64(),
        "the session outlived its certificate by {late:.1}s\n{}\n{}",
        out.describe(),
        agent.evidence()
    );
    let ended = agent
        .wait_audit(Duration::from_secs(10), |e| {
            field(e, "event") == "session_ended" && field(e, "login") == user.name
        })
        .unwrap_or_else(|| panic!("no session_ended event\n{}", agent.evidence()));
    assert!(
        field(&ended, "reason").starts_with("certificate expired"),
        "{ended}"
    );
}

//! The decision flow in-process, with an injected clock: evidence from
//! SSH_AUTH_INFO_0, served verify-required lines, the reuse window, locks.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use pam_mfa_protocol::{PamContext, PamHook, ResponseBody};

use super::flow::handle_begin;
use super::served_lines::lines_for_login;
use super::tap::Step;
use super::verdict::PeerIds;
use crate::audit::AuditSink;
use crate::config::AgentConfig;
use crate::policy::load_bundle_str;
use crate::state::AgentState;

pub(super) const BLOB: &str = "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo=";
pub(super) const OTHER_BLOB: &str = "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAICAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo=";
const SK: &str = "sk-ssh-ed25519@openssh.com";

pub(super) fn bundle(require: &str, extra: &str) -> String {
    format!(
        "kind: role\nversion: v7\nmetadata: {{name: prod}}\nspec:\n  allow:\n    logins: ['{{{{internal.logins}}}}']\n    node_labels: {{env: prod}}\n  options:\n    require_session_mfa: {require}\n---\n\
         kind: user\nversion: v2\nmetadata: {{name: alice}}\nspec:\n  roles: [prod]\n  traits:\n    logins: [root]\n---\n\
         kind: mfa_device\nversion: v1\nmetadata: {{name: alice-key}}\nspec:\n  user: alice\n  ssh_sk:\n    public_key: \"{SK} {BLOB} alice@laptop\"\n{extra}"
    )
}

pub(super) use super::user_process::UserProcess;

pub(super) struct Fixture {
    pub(super) state: AgentState,
    now: Arc<Mutex<SystemTime>>,
}

impl Fixture {
    pub(super) fn new(policy: &str, extra_config: &str) -> Fixture {
        Fixture::with_sshd_options(policy, extra_config, "")
    }

    fn with_sshd_options(policy: &str, extra_config: &str, pubkey_auth_options: &str) -> Fixture {
        // The login is root: it exists on every machine; no file of its
        // home directory is read.
        let sshd =
            format!("authorized_keys_files: []\n  pubkey_auth_options: [{pubkey_auth_options}]");
        Fixture::with_sshd(policy, extra_config, &sshd)
    }

    /// `sshd` is the `sshd:` block of agent.yaml, indented by two.
    fn with_sshd(policy: &str, extra_config: &str, sshd: &str) -> Fixture {
        Fixture::with_node(
            policy,
            "name: prod3\n  labels: {env: prod}",
            extra_config,
            sshd,
        )
    }

    /// As [`Fixture::with_sshd`], `node` the `node:` block, indented by two.
    pub(super) fn with_node(policy: &str, node: &str, extra_config: &str, sshd: &str) -> Fixture {
        let cfg = AgentConfig::parse(
            &format!("node:\n  {node}\nsshd:\n  {sshd}\n{extra_config}"),
            "test",
        )
        .unwrap();
        let now = Arc::new(Mutex::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        ));
        let n = Arc::clone(&now);
        let state =
            AgentState::new(cfg, AuditSink::Stderr, Arc::new(move || *n.lock().unwrap())).unwrap();
        state.store.install(
            load_bundle_str(policy, "test.yaml").unwrap(),
            SystemTime::now(),
        );
        Fixture { state, now }
    }

    /// The account hook: decides from the evidence at hand, never prompts.
    pub(super) fn login(&self, auth_info: Option<&str>, rhost: &str) -> ResponseBody {
        match self.begin(PamHook::Account, auth_info, rhost) {
            Step::Done(body) => body,
            Step::Ask(..) => panic!("the account hook never prompts"),
        }
    }

    pub(super) fn begin(&self, hook: PamHook, auth_info: Option<&str>, rhost: &str) -> Step {
        self.begin_from(1, hook, auth_info, rhost)
    }

    /// As [`Fixture::begin`], from sshd process `pid` (another connection
    /// than pid 1's: the grants of pid 1's taps are not its own).
    pub(super) fn begin_from(
        &self,
        pid: i32,
        hook: PamHook,
        auth_info: Option<&str>,
        rhost: &str,
    ) -> Step {
        let ctx = PamContext {
            service: "sshd".into(),
            user: "root".into(),
            rhost: Some(rhost.into()),
            ssh_auth_info: auth_info.map(Into::into),
            ..Default::default()
        };
        handle_begin(&self.state, PeerIds::of_process(pid, 0), hook, &ctx, Ok(()))
    }

    /// `hook` of PAM service `service` (not sshd: no SSH evidence), from
    /// root process `pid`, with PAM_RUSER `ruser` (sudo and su set it to the
    /// invoking user's name).
    pub(super) fn begin_service_from(
        &self,
        service: &str,
        hook: PamHook,
        pid: i32,
        ruser: Option<&str>,
    ) -> Step {
        let ctx = PamContext {
            service: service.into(),
            user: "root".into(),
            ruser: ruser.map(Into::into),
            ..Default::default()
        };
        handle_begin(&self.state, PeerIds::of_process(pid, 0), hook, &ctx, Ok(()))
    }

    /// What sshd's AuthorizedKeysCommand call does before the login: the
    /// agent serves (and remembers) the registered keys for `root`, to the
    /// connection of [`Fixture::begin`]'s peer (pid 1).
    fn serve_keys(&self) {
        let bundle = self.state.store.current().unwrap();
        let files = super::key_files_state(&self.state, "root");
        let lines = lines_for_login(&bundle, &self.state.node, "root", self.state.now(), false);
        self.state
            .served_keys
            .record("root", &lines, &files, pid_1s_connection());
    }

    pub(super) fn advance(&self, d: Duration) {
        *self.now.lock().unwrap() += d;
    }
}

/// The sshd connection the agent finds for PAM peer pid 1 (none where its
/// session leader is not itself).
fn pid_1s_connection() -> Option<super::sshd_connection::ConnectionId> {
    super::sshd_connection::SshdConnection::of_pam_peer(1).id
}

pub(super) fn sk_info(blob: &str) -> String {
    format!("publickey {SK} {blob}\n")
}

pub(super) fn denied_with(r: &ResponseBody, words: &str) {
    match r {
        ResponseBody::Deny { message, .. } => {
            assert!(message.contains(words), "{message:?} lacks {words:?}")
        }
        other => panic!("expected a denial mentioning {words:?}, got {other:?}"),
    }
}

pub(super) const ALLOW: ResponseBody = ResponseBody::Allow { message: None };

#[test]
fn touched_registered_key_satisfies_session_mfa() {
    let f = Fixture::new(&bundle("true", ""), "");
    // A key sshd accepted without pam-mfa serving it: nothing shows a touch.
    denied_with(&f.login(Some(&sk_info(BLOB)), "10.0.0.1"), "touch");
    f.serve_keys();
    assert_eq!(f.login(Some(&sk_info(BLOB)), "10.0.0.1"), ALLOW);
    denied_with(
        &f.login(
            Some("publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==\n"),
            "10.0.0.1",
        ),
        "instead of a plain key",
    );
    denied_with(&f.login(None, "10.0.0.1"), "requires MFA (session)");
    denied_with(
        &f.login(Some(&sk_info(OTHER_BLOB)), "10.0.0.1"),
        "not registered",
    );
}

#[test]
fn pin_needs_a_served_verify_required_line() {
    let f = Fixture::new(&bundle("hardware_key_pin", ""), "");
    denied_with(&f.login(Some(&sk_info(BLOB)), "10.0.0.1"), "PIN");
    // sshd asks for keys: the agent serves verify-required and remembers it.
    let lines = lines_for_login(
        &f.state.store.current().unwrap(),
        &f.state.node,
        "root",
        f.state.now(),
        false,
    );
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].line.starts_with("verify-required "),
        "{}",
        lines[0].line
    );
    let files = super::key_files_state(&f.state, "root");
    f.state
        .served_keys
        .record("root", &lines, &files, pid_1s_connection());
    assert_eq!(f.login(Some(&sk_info(BLOB)), "10.0.0.1"), ALLOW);
}

/// A served key is credited because it was in none of the user's files
/// when sshd read them. Once the files changed after the serve, sshd may
/// have used a line the agent can no longer see (added with
/// `no-touch-required`, used without a touch, removed before the PAM step):
/// no touch is credited.
#[test]
fn a_served_key_is_not_credited_once_the_users_files_changed() {
    let dir = std::env::temp_dir().join(format!("pam-mfa-served.{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("root_keys");
    std::fs::write(&file, "# no keys here\n").unwrap();
    let sshd = format!(
        "authorized_keys_files: ['{}']\n  pubkey_auth_options: []",
        file.display()
    );
    let f = Fixture::with_sshd(&bundle("true", ""), "", &sshd);
    // Older than the serve by more than the timestamps' slack.
    std::thread::sleep(Duration::from_millis(100));
    f.serve_keys();
    assert_eq!(f.login(Some(&sk_info(BLOB)), "10.0.0.1"), ALLOW);
    std::fs::write(&file, "# no keys here either\n").unwrap();
    denied_with(&f.login(Some(&sk_info(BLOB)), "10.0.0.1"), "touch");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn global_pubkey_auth_options_count_as_verified() {
    let f = Fixture::new(&bundle("hardware_key_touch_and_pin", ""), "");
    denied_with(
        &f.login(Some(&sk_info(BLOB)), "10.0.0.1"),
        "hardware_key_touch_and_pin",
    );
    let g = Fixture::with_sshd_options(
        &bundle("hardware_key_touch_and_pin", ""),
        "",
        "touch-required, verify-required",
    );
    assert_eq!(g.login(Some(&sk_info(BLOB)), "10.0.0.1"), ALLOW);
}

/// alice's touched key allowed her; within the reuse window the same
/// address without her key (a password, a plain key: anyone behind that
/// NAT or bastion, alice guessed from the login name) is refused. What a
/// reused tap does serve: `reuse_flow_tests.rs`.
#[test]
fn reuse_window_never_serves_a_login_without_the_persons_key() {
    let f = Fixture::new(&bundle("true", ""), "reuse_window: 2m\n");
    f.serve_keys();
    denied_with(&f.login(None, "10.0.0.1"), "requires MFA");
    assert_eq!(f.login(Some(&sk_info(BLOB)), "10.0.0.1"), ALLOW);
    f.advance(Duration::from_secs(90));
    denied_with(&f.login(None, "10.0.0.1"), "requires MFA");
    denied_with(
        &f.login(
            Some("publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==\n"),
            "10.0.0.1",
        ),
        "instead of a plain key",
    );
    assert_eq!(f.login(Some(&sk_info(BLOB)), "10.0.0.1"), ALLOW);
}

#[test]
fn locks_and_unknown_users() {
    let lock = "---\nkind: lock\nversion: v2\nmetadata: {name: l1}\nspec:\n  target: {mfa_device: alice-key}\n  message: lost key\n";
    let f = Fixture::new(&bundle("true", lock), "");
    denied_with(&f.login(Some(&sk_info(BLOB)), "10.0.0.1"), "lost key");
    // A login nobody maps to gets the cap's requirement (off here).
    let g = Fixture::new(
        &bundle("true", "").replace("logins: [root]", "logins: [alice]"),
        "",
    );
    assert_eq!(g.login(None, "10.0.0.1"), ALLOW);
    let strict_cap = "---\nkind: cluster_auth_preference\nversion: v2\nmetadata: {name: cluster-auth-preference}\nspec:\n  require_session_mfa: true\n";
    let h = Fixture::new(
        &bundle("true", strict_cap).replace("logins: [root]", "logins: [alice]"),
        "",
    );
    denied_with(&h.login(None, "10.0.0.1"), "not a cluster user");
}

#[test]
fn no_policy_follows_the_agent_fail_mode() {
    let f = Fixture::new(&bundle("true", ""), "");
    let empty = AgentState::new(
        f.state.config.clone(),
        AuditSink::Stderr,
        Arc::new(SystemTime::now),
    )
    .unwrap();
    let ctx = PamContext {
        service: "sshd".into(),
        user: "root".into(),
        ..Default::default()
    };
    assert!(matches!(
        handle_begin(
            &empty,
            PeerIds::of_process(1, 0),
            PamHook::Auth,
            &ctx,
            Ok(())
        ),
        Step::Done(ResponseBody::Deny { .. })
    ));
}

pub(super) fn prompt_text(body: &ResponseBody) -> String {
    match body {
        ResponseBody::Prompt { prompts } => prompts
            .iter()
            .map(|p| p.text.clone())
            .collect::<Vec<_>>()
            .join("\n"),
        other => panic!("expected a prompt, got {other:?}"),
    }
}

#[test]
fn non_root_peers_cannot_claim_ssh_evidence() {
    // A process running as the user asks about itself with a forged
    // SSH_AUTH_INFO_0 naming the user's (public) registered key.
    let f = Fixture::new(&bundle("true", ""), "reuse_window: 2m\n");
    f.serve_keys();
    let ctx = PamContext {
        service: "sshd".into(),
        user: "root".into(),
        rhost: Some("10.0.0.9".into()),
        ssh_auth_info: Some(sk_info(BLOB)),
        ..Default::default()
    };
    match handle_begin(
        &f.state,
        PeerIds::of_process(1, 1000),
        PamHook::Account,
        &ctx,
        Ok(()),
    ) {
        Step::Done(ResponseBody::Deny { .. }) => {}
        _ => panic!("a non-root peer's SSH_AUTH_INFO_0 is not evidence"),
    }
    // ...and it left nothing for the reuse window.
    let mut real = ctx.clone();
    real.ssh_auth_info = None;
    match handle_begin(
        &f.state,
        PeerIds::of_process(1, 0),
        PamHook::Account,
        &real,
        Ok(()),
    ) {
        Step::Done(ResponseBody::Deny { .. }) => {}
        _ => panic!("no reuse from a forged claim"),
    }
}

/// A stale lock view holds back the keys of those whose locking mode is
/// strict, and only theirs (Teleport's `RoleSet.LockingMode`): a strict
/// role alice does not hold leaves her key served.
#[test]
fn a_stale_lock_view_holds_back_only_strict_persons_keys() {
    let other =
        "---\nkind: role\nversion: v7\nmetadata: {name: ops}\nspec:\n  options: {lock: strict}\n";
    let f = Fixture::new(&bundle("true", other), "");
    let b = f.state.store.current().unwrap();
    let served = |stale| lines_for_login(&b, &f.state.node, "root", f.state.now(), stale).len();
    assert_eq!((served(false), served(true)), (1, 1));
    let strict = bundle("true", "").replace(
        "    require_session_mfa: true\n",
        "    require_session_mfa: true\n    lock: strict\n",
    );
    let f = Fixture::new(&strict, "");
    let b = f.state.store.current().unwrap();
    let served = |stale| lines_for_login(&b, &f.state.node, "root", f.state.now(), stale).len();
    assert_eq!((served(false), served(true)), (1, 0));
}

//! What the sessions tests share: a world of an agent, an sshd whose session
//! stack registers sessions with it, and a user with a registered key; the
//! bundles they change, and waits for the session events.

use std::thread;
use std::time::{Duration, Instant};

use super::common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::https_server::{Content, HttpsServer, Mode};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::process::wait_until;
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::unique_name;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::{write_atomic, WorkDir};
use serde_json::Value;

/// The agent's `cluster.poll_interval` in these tests.
pub(crate) const POLL: Duration = Duration::from_secs(1);
/// The bound: a lock ends the session within one poll plus this.
pub(crate) const END_MARGIN: Duration = Duration::from_secs(2);

/// Fields drop in order: sshd, agent, server, user, work dir.
pub(crate) struct World {
    pub(crate) sshd: Sshd,
    pub(crate) agent: Agent,
    /// The bundle's source when it is served over HTTPS (else the agent's file).
    pub(crate) server: Option<HttpsServer>,
    pub(crate) user: TestUser,
    pub(crate) sk: SshKey,
    /// A plain key in the user's authorized_keys (logs in with a tap).
    pub(crate) plain: SshKey,
    /// The cluster's locking mode is strict.
    pub(crate) strict: bool,
    pub(crate) work: WorkDir,
}

/// The scenario bundle with the user's roles given (common::bundle gives
/// access-dev and access-prod); access-prod requires session MFA.
pub(crate) fn bundle_with_roles(login: &str, roles: &[&str], sk: &SshKey) -> Bundle {
    bundle_locking(login, roles, sk, false)
}

/// [`bundle_with_roles`], with the cluster's `locking_mode: strict` when
/// `strict`.
fn bundle_locking(login: &str, roles: &[&str], sk: &SshKey, strict: bool) -> Bundle {
    let locking = if strict {
        "  locking_mode: strict\n"
    } else {
        ""
    };
    Bundle::new()
        .scenario_roles("true")
        .cap_with("false", locking)
        .user(login, roles, &[login])
        .sk_device(&format!("{login}-sk0"), login, &sk.public_line)
}

pub(crate) fn lock_user(user: &str, message: &str) -> String {
    format!(
        "kind: lock\nversion: v2\nmetadata:\n  name: lock-{user}\nspec:\n  target:\n    user: \"{user}\"\n  message: \"{message}\"\n"
    )
}

pub(crate) fn start(label: &str) -> World {
    start_with(label, false)
}

/// `over_https`: the agent pulls the bundle from a rustls server on loopback
/// (trusted by its test CA file) instead of reading a file.
pub(crate) fn start_with(label: &str, over_https: bool) -> World {
    start_full(label, over_https, None)
}

/// Over HTTPS, the cluster's locking mode strict and the agent's
/// `cluster.lock_view_max_age` this.
pub(crate) fn start_strict_over_https(label: &str, lock_view_max_age: Duration) -> World {
    start_full(label, true, Some(lock_view_max_age))
}

/// `strict`: the cluster's locking mode strict, and the agent's
/// `lock_view_max_age` (HTTPS only).
fn start_full(label: &str, over_https: bool, strict: Option<Duration>) -> World {
    let work = WorkDir::new(label);
    let user = TestUser::create();
    let sk = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    user.authorize_keys(&[plain.public_line.as_str()]);
    let service = unique_name("sshd-mfat");
    let mut config = AgentConfig {
        poll_interval: format!("{}s", POLL.as_secs()),
        extra_yaml: "sessions:\n  end_grace: 2s\n  check_interval: 1s\n".into(),
        ..AgentConfig::with_env("prod").service(&service, "ssh")
    };
    let bundle = bundle_locking(
        &user.name,
        &["access-dev", "access-prod"],
        &sk,
        strict.is_some(),
    );
    let lock_view = strict.map_or(String::new(), |age| {
        format!("  lock_view_max_age: {}s\n", age.as_secs())
    });
    let server = over_https.then(|| {
        let server = HttpsServer::start(&work, served(&bundle));
        config.cluster_yaml = Some(format!(
            "  source: \"{}\"\n  poll_interval: {}s\n  ca_file: \"{}\"\n  state_dir: \"{}\"\n  timeout: 2s\n  connect_timeout: 1s\n  max_backoff: 2s\n{lock_view}",
            server.url(),
            POLL.as_secs(),
            server.ca_file.display(),
            work.join("state").display()
        ));
        server
    });
    let agent = Agent::start(&work, &config, &bundle);
    if over_https {
        // The agent opens its socket before its first pull over HTTPS.
        let loaded = wait_until(Duration::from_secs(15), Duration::from_millis(50), || {
            let f = agent.mfactl(&["status", "--json"]);
            serde_json::from_str::<Value>(&f.stdout)
                .is_ok_and(|s| s["policy_revision"].as_str().is_some_and(|r| !r.is_empty()))
        });
        assert!(loaded, "no policy pulled: {}", agent.log());
    }
    let sshd = Sshd::start(
        &work,
        &SshdOptions::new(&sshd_stack_with_sessions(&agent.socket))
            .keys_from_agent(&agent.socket)
            .service_name(&service),
    );
    World {
        sshd,
        agent,
        server,
        user,
        sk,
        plain,
        strict: strict.is_some(),
        work,
    }
}

impl World {
    pub(crate) fn base_bundle(&self) -> Bundle {
        bundle_locking(
            &self.user.name,
            &["access-dev", "access-prod"],
            &self.sk,
            self.strict,
        )
    }

    /// `ssh USER@127.0.0.1 CMD` with the registered security key.
    pub(crate) fn ssh(&self, cmd: &str, timeout: Duration) -> SshOutcome {
        let mut l = SshLogin::new(self.sshd.port, &self.user.name, &self.sk);
        l.timeout = timeout;
        l.run(&self.work, cmd)
    }

    pub(crate) fn sessions(&self) -> Vec<Value> {
        let f = self.agent.mfactl(&["sessions", "--json"]);
        assert!(f.success(), "mfactl sessions: {} {}", f.stdout, f.stderr);
        match serde_json::from_str(&f.stdout) {
            Ok(Value::Array(list)) => list,
            other => panic!("mfactl sessions --json printed {other:?}: {}", f.stdout),
        }
    }

    pub(crate) fn my_sessions(&self) -> Vec<Value> {
        self.sessions()
            .into_iter()
            .filter(|s| field(s, "login") == self.user.name)
            .collect()
    }

    /// Waits (bounded) until the user's session is listed; returns it.
    pub(crate) fn wait_listed(&self) -> Value {
        let mut found = None;
        wait_until(Duration::from_secs(20), Duration::from_millis(100), || {
            found = self.my_sessions().into_iter().next();
            found.is_some()
        });
        found.unwrap_or_else(|| {
            panic!(
                "no session listed for {}\n{}",
                self.user.name,
                self.post_mortem()
            )
        })
    }

    /// Replaces the bundle file, or what the HTTPS source serves (with a new
    /// ETag); the agent's poll picks it up (no reload).
    pub(crate) fn write_bundle(&self, b: &Bundle) {
        match &self.server {
            Some(server) => server.set(|c| *c = served(b)),
            None => write_atomic(&self.agent.bundle_path, &b.to_yaml(), 0o644),
        }
    }

    /// Waits (bounded) until the agent has loaded a policy `n` times in
    /// all; panics naming `what` otherwise.
    pub(crate) fn wait_policy_loads(&self, n: usize, what: &str) {
        let loaded = wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
            let loads = self.agent.audit_events();
            loads
                .iter()
                .filter(|e| field(e, "event") == "policy_load")
                .count()
                >= n
        });
        assert!(loaded, "{what} was not loaded\n{}", self.post_mortem());
    }

    pub(crate) fn post_mortem(&self) -> String {
        format!(
            "{}\n--- sshd log (tail)\n{}",
            self.agent.evidence(),
            tail(&self.sshd.log(), 60)
        )
    }
}

/// The bundle as the HTTPS source serves it, under an ETag from its text.
pub(crate) fn served(b: &Bundle) -> Content {
    let body = b.to_yaml();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&body, &mut h);
    Content {
        etag: Some(format!("\"{:016x}\"", std::hash::Hasher::finish(&h))),
        body: body.into_bytes(),
        signature: None,
        mode: Mode::Normal,
        token: None,
    }
}

pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The listed session is the sshd monitor of this login, with what it was
/// decided from.
pub(crate) fn assert_session_fields(w: &World, s: &Value) {
    assert_eq!(field(s, "login"), w.user.name, "{s}");
    assert_eq!(field(s, "user"), w.user.name, "{s}");
    assert_eq!(field(s, "service"), w.sshd.service, "{s}");
    assert_eq!(field(s, "rhost"), "127.0.0.1", "{s}");
    assert_eq!(field(s, "class"), "ssh", "{s}");
    assert!(field(s, "evidence").starts_with("ssh_sk_"), "{s}");
    assert!(!field(s, "opened").is_empty(), "{s}");
    assert!(s.get("ending").is_none(), "{s}");
    let pid = s["pid"].as_u64().expect("pid");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline)
        .trim_end_matches('\0')
        .to_string();
    assert!(
        cmdline.starts_with(&format!("{}: {} [priv]", w.sshd.service, w.user.name)),
        "pid {pid} is not this login's privileged sshd monitor: {cmdline:?}"
    );
}

/// Runs `sleep 300` over ssh; once the session is listed, `change` is
/// written to the bundle. Returns the ssh outcome and the time from the
/// write to the client's exit.
pub(crate) fn end_by_bundle_change(w: &World, change: &Bundle) -> (SshOutcome, Duration) {
    thread::scope(|scope| {
        let client = scope.spawn(|| {
            let out = w.ssh("sleep 300", Duration::from_secs(60));
            (out, Instant::now())
        });
        let s = w.wait_listed();
        assert_session_fields(w, &s);
        let written = Instant::now();
        w.write_bundle(change);
        let (out, exited) = client.join().expect("ssh thread");
        (out, exited.duration_since(written))
    })
}

pub(crate) fn wait_event(w: &World, kind: &str) -> Value {
    let login = w.user.name.clone();
    w.agent
        .wait_audit(Duration::from_secs(10), |e| {
            field(e, "event") == kind && field(e, "login") == login
        })
        .unwrap_or_else(|| panic!("no {kind} event for {login}\n{}", w.post_mortem()))
}

//! What the sync_https tests share: a world of an agent pulling from an HTTPS
//! server on loopback, a sudo-class PAM stack to decide through, and the
//! bundles, signatures and agent.yaml edits the tests serve.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::Value;

use super::common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::https_server::{Content, HttpsServer, Mode};
use pam_mfa_e2e::pam_stack::{HarnessRun, PamStack};
use pam_mfa_e2e::process::wait_until;
use pam_mfa_e2e::unique_name;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::{write_atomic, WorkDir};

pub(crate) const POLL: &str = "1s";

/// Fields drop in order: agent, server, user, work dir.
pub(crate) struct World {
    pub(crate) agent: Agent,
    pub(crate) server: HttpsServer,
    pub(crate) sudo: PamStack,
    pub(crate) user: TestUser,
    pub(crate) work: WorkDir,
}

pub(crate) fn signer() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

pub(crate) fn sign_with(key: &SigningKey, body: &[u8]) -> String {
    STANDARD.encode(key.sign(body).to_bytes())
}

pub(crate) fn signing_key_line() -> String {
    format!(
        "ed25519:{}",
        STANDARD.encode(signer().verifying_key().to_bytes())
    )
}

/// The user may log in on this dev node without MFA (role access-dev).
pub(crate) fn allowing(user: &str) -> Bundle {
    bundle(user, "false", "true", &[])
}

/// The same, plus a lock on the user's login.
pub(crate) fn locked(user: &str) -> Bundle {
    allowing(user).lock_login("sync-lock", user, "locked by the sync test")
}

/// A bundle whose cap sets `locking_mode`.
pub(crate) fn with_locking_mode(user: &str, mode: &str) -> Bundle {
    Bundle::new()
        .role("access-dev", &[("env", "dev")], &["{{internal.logins}}"], None)
        .user(user, &["access-dev"], &[user])
        .raw(&format!(
            "kind: cluster_auth_preference\nversion: v2\nmetadata:\n  name: cluster-auth-preference\nspec:\n  locking_mode: {mode}\n"
        ))
}

pub(crate) fn content(body: &str, etag: &str) -> Content {
    Content {
        body: body.as_bytes().to_vec(),
        etag: Some(etag.into()),
        signature: None,
        mode: Mode::Normal,
        token: None,
    }
}

/// The cluster section: the server's URL, trust by its CA file, a state
/// dir in the work dir, and `extra` keys.
pub(crate) fn cluster_yaml(server: &HttpsServer, work: &WorkDir, extra: &str) -> String {
    format!(
        "  source: \"{}\"\n  poll_interval: {POLL}\n  max_backoff: 2s\n  timeout: 2s\n  connect_timeout: 1s\n  state_dir: \"{}\"\n{}{extra}",
        server.url(),
        work.join("state").display(),
        if extra.contains("ca_pins") {
            String::new()
        } else {
            format!("  ca_file: \"{}\"\n", server.ca_file.display())
        }
    )
}

/// A server serving `first(user)`, and an agent on an `env: dev` node
/// pulling from it, once its first pull (on its reloader thread, after it
/// opened its socket) has ended.
pub(crate) fn world(label: &str, first: impl Fn(&str) -> Content, extra: &str) -> World {
    let w = world_serving(label, first, extra);
    first_pull_ended(&w.agent);
    w
}

/// [`world`] as soon as the agent answers on its socket, its first pull
/// perhaps still running.
pub(crate) fn world_serving(label: &str, first: impl Fn(&str) -> Content, extra: &str) -> World {
    let work = WorkDir::new(label);
    let user = TestUser::create();
    let server = HttpsServer::start(&work, first(&user.name));
    let sudo_service = unique_name("sudo-mfat");
    let mut config = AgentConfig::with_env("dev").service(&sudo_service, "admin");
    config.cluster_yaml = Some(cluster_yaml(&server, &work, extra));
    let agent = Agent::start(&work, &config, &Bundle::new());
    let module = bins::pam_module();
    bins::require(&module);
    let args = module_args(&agent.socket, "");
    let sudo = PamStack::new(
        &work,
        &sudo_service,
        &format!(
            "auth required {m} {args}\naccount required {m} {args}\n",
            m = module.display()
        ),
    );
    World {
        agent,
        server,
        sudo,
        user,
        work,
    }
}

impl World {
    /// sudo as the test user: true when PAM let it through.
    pub(crate) fn sudo_allowed(&self) -> bool {
        let mut r = HarnessRun::new(&self.user.name, "auth+account");
        r.ruser = Some(self.user.name.clone());
        r.tty = Some("/dev/pts/7".into());
        let out = self.sudo.run(&r);
        match out.exit_code() {
            Some(0) => true,
            Some(1) => false,
            other => panic!("pam-harness ended with {other:?}:\n{}", self.evidence()),
        }
    }

    pub(crate) fn status(&self) -> Value {
        let f = self.agent.mfactl(&["status", "--json"]);
        assert!(f.success(), "mfactl status: {}{}", f.stdout, f.stderr);
        serde_json::from_str(&f.stdout).expect("status JSON")
    }

    pub(crate) fn revision(&self) -> String {
        self.status()["policy_revision"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub(crate) fn wait_status(
        &self,
        what: &str,
        deadline: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let mut last = Value::Null;
        let ok = wait_until(deadline, Duration::from_millis(100), || {
            last = self.status();
            pred(&last)
        });
        assert!(
            ok,
            "{what} within {deadline:?}; status: {last:#}\n{}",
            self.evidence()
        );
        last
    }

    pub(crate) fn evidence(&self) -> String {
        format!(
            "--- server {:?}\n{}",
            self.server.counts(),
            self.agent.evidence()
        )
    }

    pub(crate) fn serve(&self, body: &Bundle, etag: &str, signed: bool) {
        let yaml = body.to_yaml();
        self.server.set(|c| {
            c.body = yaml.as_bytes().to_vec();
            c.etag = Some(etag.into());
            c.signature = signed.then(|| sign_with(&signer(), yaml.as_bytes()));
            c.mode = Mode::Normal;
        });
    }

    /// `mfactl sync`: (exit code, output).
    pub(crate) fn sync(&self) -> (Option<i32>, String) {
        let f = self.agent.mfactl(&["sync"]);
        (f.code, format!("{}{}", f.stdout, f.stderr))
    }
}

pub(crate) fn sha(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Waits until the first pull since the agent started has ended: no pull
/// runs, and there is a policy or an error.
pub(crate) fn first_pull_ended(agent: &Agent) -> Value {
    let mut last = Value::Null;
    let ok = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        let f = agent.mfactl(&["status", "--json"]);
        last = serde_json::from_str(&f.stdout).unwrap_or(Value::Null);
        last["sync"]["pull_started"].is_null()
            && (last["policy_revision"] != "" || !last["last_error"].is_null())
    });
    assert!(ok, "no first pull ended: {last:#}\n{}", agent.evidence());
    last
}

pub(crate) fn rewrite_config(agent: &Agent, from: &str, to: &str) {
    let text = std::fs::read_to_string(&agent.config_path).unwrap();
    assert!(text.contains(from), "{text}");
    write_atomic(&agent.config_path, &text.replace(from, to), 0o600);
}

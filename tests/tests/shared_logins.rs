//! Shared and system accounts through a real sshd: a login that a role's
//! allow logins name (here `shared`, standing in for `root`: a local
//! account that no cluster user's traits name, with a plain key in its own
//! authorized_keys) is cluster-managed. With no registered key and no
//! certificate, who logs in is not known: it is decided for every cluster
//! user whose roles could give it, and a tap (`mfactl tap` with jerry's
//! registered key) says who it is; the login is then jerry's.
//!
//! `shared` is a test account; `root_on_prod_needs_a_tap_that_says_who`
//! does the same with the real root, whose authorized_keys exists only inside
//! the test sshd's private mount namespace (the host's `/root` is untouched).

use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::ssh_agent::TestSshAgent;
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

struct SharedWorld {
    sshd: Sshd,
    agent: Agent,
    /// The shared account: ops-prod names it; nobody's traits do.
    shared: TestUser,
    /// The login under test: `shared`'s name, or `root`.
    login: String,
    /// An account no role names at all.
    unnamed: TestUser,
    plain: SshKey,
    jerry_key: SshKey,
    jerry: String,
    work: WorkDir,
}

/// ops-prod (env=prod, `require_session_mfa: true`, logins [jerry, shared])
/// held by jerry, whose sk key is registered; the cap does not require MFA.
fn shared_world(label: &str, env: &str) -> SharedWorld {
    world(label, env, false)
}

/// [`shared_world`] with `root` in place of the shared account: the plain key
/// is in root's authorized_keys inside sshd's namespace, `PermitRootLogin yes`.
fn root_world(label: &str) -> SharedWorld {
    world(label, "prod", true)
}

fn world(label: &str, env: &str, as_root: bool) -> SharedWorld {
    let work = WorkDir::new(label);
    let shared = TestUser::create();
    let unnamed = TestUser::create();
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    let jerry_key = SshKey::generate(work.path(), "id_jerry", KeyKind::Ed25519Sk, false);
    shared.authorize_keys(&[plain.public_line.as_str()]);
    unnamed.authorize_keys(&[plain.public_line.as_str()]);
    let jerry = unique_name("jerry");
    let login = if as_root {
        "root".to_string()
    } else {
        shared.name.clone()
    };
    let b = Bundle::new()
        .cap("false")
        .role(
            "ops-prod",
            &[("env", "prod")],
            &[&jerry, &login],
            Some("true"),
        )
        .user(&jerry, &["ops-prod"], &[&jerry])
        .sk_device("jerry-sk", &jerry, &jerry_key.public_line);
    let service = unique_name("sshd-mfas");
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env(env).service(&service, "ssh"),
        &b,
    );
    let mut opts = SshdOptions::pam_mfa(&agent.socket, &service);
    if as_root {
        opts = opts.root_keys(&[plain.public_line.as_str()]);
    }
    let sshd = Sshd::start(&work, &opts);
    SharedWorld {
        sshd,
        agent,
        shared,
        login,
        unnamed,
        plain,
        jerry_key,
        jerry,
        work,
    }
}

impl SharedWorld {
    fn plain_login(&self, account: &str) -> SshOutcome {
        SshLogin::new(self.sshd.port, account, &self.plain).run(&self.work, "id -un")
    }

    fn tap_login(&self, ssh_agent: &TestSshAgent) -> SshOutcome {
        SshLogin::new(self.sshd.port, &self.login, &self.plain)
            .tap(bins::require(&bins::mfactl()), &ssh_agent.socket)
            .run(&self.work, "id -un")
    }

    fn evidence(&self, out: &SshOutcome) -> String {
        format!("{}\n{}", out.describe(), self.agent.evidence())
    }

    fn decisions(&self, login: &str) -> Vec<serde_json::Value> {
        self.agent
            .audit_events()
            .into_iter()
            .filter(|e| e["event"] == "decision" && e["login"] == login)
            .collect()
    }
}

#[test]
fn shared_account_on_prod_needs_a_tap_that_says_who() {
    require_root!();
    let w = shared_world("shared-prod", "prod");

    // No tap: refused (before, the cap's "off" let it in).
    let out = w.plain_login(&w.shared.name);
    assert_eq!(out.exit_code(), Some(255), "{}", w.evidence(&out));
    let d = w.decisions(&w.shared.name);
    let auth = d
        .iter()
        .find(|e| e["hook"] == "auth")
        .expect("an auth decision");
    assert_eq!(auth["result"], "deny", "{d:?}");
    assert_eq!(auth["requirement"], "session", "{d:?}");
    assert!(
        auth["reason"]
            .as_str()
            .unwrap_or("")
            .contains("cluster-managed"),
        "{d:?}"
    );
    assert!(
        out.askpass
            .iter()
            .any(|p| p.contains("MFA challenge pmfa1:")),
        "the challenge was offered: {:?}",
        out.askpass
    );

    // Jerry's registered key answers the challenge: allowed, as jerry.
    let agent = TestSshAgent::start(w.work.path(), None);
    agent.add(&w.jerry_key, None);
    let out = w.tap_login(&agent);
    assert!(
        out.success(),
        "the tapped login should succeed:\n{}",
        w.evidence(&out)
    );
    assert_eq!(out.stdout().trim(), w.shared.name);
    let d = w.decisions(&w.shared.name);
    let allowed: Vec<_> = d.iter().filter(|e| e["result"] == "allow").collect();
    let auth = allowed
        .iter()
        .find(|e| e["hook"] == "auth")
        .unwrap_or_else(|| panic!("an allowed auth decision: {d:?}"));
    assert_eq!(
        auth["user"],
        w.jerry.as_str(),
        "the audit names jerry: {d:?}"
    );
    assert_eq!(auth["evidence"], "tap_ssh_sk_touch", "{d:?}");
    let account = allowed
        .iter()
        .find(|e| e["hook"] == "account")
        .unwrap_or_else(|| panic!("an allowed account decision: {d:?}"));
    assert_eq!(account["user"], w.jerry.as_str(), "{d:?}");
    assert_eq!(account["evidence"], "grant_tap_ssh_sk_touch", "{d:?}");

    // An account no role names keeps the cap's rule ("off"): a plain key.
    let out = w.plain_login(&w.unnamed.name);
    assert!(out.success(), "{}", w.evidence(&out));
    let d = w.decisions(&w.unnamed.name);
    assert!(
        d.iter().any(|e| e["hook"] == "account"
            && e["result"] == "allow"
            && e["evidence"] == "none needed"),
        "{d:?}"
    );

    // mfactl explain without --user: the candidates and the strictest.
    let f = w.agent.mfactl(&["explain", "--login", &w.shared.name]);
    assert_eq!(f.code, Some(0), "{} {}", f.stdout, f.stderr);
    assert!(
        f.stdout.contains(&format!("not known: any of {}", w.jerry)),
        "{}",
        f.stdout
    );
    assert!(
        f.stdout
            .contains("mfa:          session (the strictest among them)"),
        "{}",
        f.stdout
    );
}

#[test]
fn shared_account_on_a_dev_node_is_denied() {
    require_root!();
    let w = shared_world("shared-dev", "dev");
    // No role gives the shared account on env=dev: denied, no challenge.
    let out = w.plain_login(&w.shared.name);
    assert_eq!(out.exit_code(), Some(255), "{}", w.evidence(&out));
    assert!(
        !out.askpass.iter().any(|p| p.contains("MFA challenge")),
        "no tap can help: {:?}",
        out.askpass
    );
    let d = w.decisions(&w.shared.name);
    assert!(d.iter().all(|e| e["result"] == "deny"), "{d:?}");
    assert!(
        d.iter()
            .any(|e| e["reason"].as_str().unwrap_or("").contains("none of")),
        "{d:?}"
    );
    // The account no role names: the cap's rule, as on prod.
    let out = w.plain_login(&w.unnamed.name);
    assert!(out.success(), "{}", w.evidence(&out));
}

#[test]
fn root_on_prod_needs_a_tap_that_says_who() {
    require_root!();
    let w = root_world("root-prod");
    assert!(
        std::fs::read_to_string(&w.sshd.config_path)
            .unwrap_or_default()
            .contains("PermitRootLogin yes"),
        "the root variant lets sshd take root"
    );

    // A plain key in root's authorized_keys, no tap: refused, challenge offered.
    let out = w.plain_login("root");
    assert_eq!(out.exit_code(), Some(255), "{}", w.evidence(&out));
    let d = w.decisions("root");
    let auth = d
        .iter()
        .find(|e| e["hook"] == "auth")
        .unwrap_or_else(|| panic!("an auth decision: {d:?}"));
    assert_eq!(auth["result"], "deny", "{d:?}");
    assert_eq!(auth["requirement"], "session", "{d:?}");
    assert!(
        out.askpass
            .iter()
            .any(|p| p.contains("MFA challenge pmfa1:")),
        "the challenge was offered: {:?}",
        out.askpass
    );

    // Jerry's registered key answers it: root is allowed, and it is jerry's login.
    let agent = TestSshAgent::start(w.work.path(), None);
    agent.add(&w.jerry_key, None);
    let out = w.tap_login(&agent);
    assert!(out.success(), "the tapped login:\n{}", w.evidence(&out));
    assert_eq!(out.stdout().trim(), "root");
    let d = w.decisions("root");
    for hook in ["auth", "account"] {
        let e = d
            .iter()
            .find(|e| e["hook"] == hook && e["result"] == "allow")
            .unwrap_or_else(|| panic!("an allowed {hook} decision: {d:?}"));
        assert_eq!(e["user"], w.jerry.as_str(), "the audit names jerry: {d:?}");
    }
}

//! Cluster sync against a real HTTPS server on loopback (rustls, a test CA
//! from rcgen), with real `mfa-agent` processes: decisions are checked
//! through PAM (pam-harness, a sudo-class stack) and `mfactl status/sync`.

mod common;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::Value;

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::https_server::{unrelated_pin, Content, HttpsServer, Mode};
use pam_mfa_e2e::pam_stack::{HarnessRun, PamStack};
use pam_mfa_e2e::process::wait_until;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::{write_atomic, WorkDir};
use pam_mfa_e2e::{require_root, unique_name};

const POLL: &str = "1s";

/// Fields drop in order: agent, server, user, work dir.
struct World {
    agent: Agent,
    server: HttpsServer,
    sudo: PamStack,
    user: TestUser,
    work: WorkDir,
}

fn signer() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

fn sign_with(key: &SigningKey, body: &[u8]) -> String {
    STANDARD.encode(key.sign(body).to_bytes())
}

fn signing_key_line() -> String {
    format!(
        "ed25519:{}",
        STANDARD.encode(signer().verifying_key().to_bytes())
    )
}

/// The user may log in on this dev node without MFA (role access-dev).
fn allowing(user: &str) -> Bundle {
    bundle(user, "false", "true", &[])
}

/// The same, plus a lock on the user's login.
fn locked(user: &str) -> Bundle {
    allowing(user).lock_login("sync-lock", user, "locked by the sync test")
}

/// A bundle whose cap sets `locking_mode`.
fn with_locking_mode(user: &str, mode: &str) -> Bundle {
    Bundle::new()
        .role("access-dev", &[("env", "dev")], &["{{internal.logins}}"], None)
        .user(user, &["access-dev"], &[user])
        .raw(&format!(
            "kind: cluster_auth_preference\nversion: v2\nmetadata:\n  name: cluster-auth-preference\nspec:\n  locking_mode: {mode}\n"
        ))
}

fn content(body: &str, etag: &str) -> Content {
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
fn cluster_yaml(server: &HttpsServer, work: &WorkDir, extra: &str) -> String {
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

/// A server serving `first(user)`, and an agent on an `env: dev` node pulling from it.
fn world(label: &str, first: impl Fn(&str) -> Content, extra: &str) -> World {
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
    fn sudo_allowed(&self) -> bool {
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

    fn status(&self) -> Value {
        let f = self.agent.mfactl(&["status", "--json"]);
        assert!(f.success(), "mfactl status: {}{}", f.stdout, f.stderr);
        serde_json::from_str(&f.stdout).expect("status JSON")
    }

    fn revision(&self) -> String {
        self.status()["policy_revision"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn wait_status(&self, what: &str, deadline: Duration, pred: impl Fn(&Value) -> bool) -> Value {
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

    fn evidence(&self) -> String {
        format!(
            "--- server {:?}\n{}",
            self.server.counts(),
            self.agent.evidence()
        )
    }

    fn serve(&self, body: &Bundle, etag: &str, signed: bool) {
        let yaml = body.to_yaml();
        self.server.set(|c| {
            c.body = yaml.as_bytes().to_vec();
            c.etag = Some(etag.into());
            c.signature = signed.then(|| sign_with(&signer(), yaml.as_bytes()));
            c.mode = Mode::Normal;
        });
    }

    /// `mfactl sync`: (exit code, output).
    fn sync(&self) -> (Option<i32>, String) {
        let f = self.agent.mfactl(&["sync"]);
        (f.code, format!("{}{}", f.stdout, f.stderr))
    }
}

fn sha(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_change_is_picked_up_within_one_poll_and_an_unchanged_bundle_costs_a_304() {
    require_root!();
    let w = world(
        "sync-poll",
        |u| content(&allowing(u).to_yaml(), "\"v1\""),
        "",
    );
    let first = allowing(&w.user.name).to_yaml();
    assert_eq!(w.revision(), sha(&first), "{}", w.evidence());
    assert!(w.sudo_allowed(), "{}", w.evidence());
    let s = w.status();
    assert_eq!(s["policy_source"], w.server.url());
    assert_eq!(s["sync"]["from_cache"], false);
    assert_eq!(s["sync"]["etag"], "\"v1\"");

    // Unchanged: the next polls are 304s, not full downloads.
    let before = w.server.counts();
    assert!(
        wait_until(Duration::from_secs(5), Duration::from_millis(100), || {
            w.server.counts().not_modified >= before.not_modified + 2
        }),
        "no 304s: {}",
        w.evidence()
    );
    assert_eq!(
        w.server.counts().full,
        before.full,
        "an unchanged bundle was downloaded again"
    );
    let (code, out) = w.sync();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("unchanged (304)"), "{out}");

    // A lock appears: picked up within one poll (1s ± 10%), plus slack for a loaded machine.
    let second = locked(&w.user.name);
    w.serve(&second, "\"v2\"", false);
    let t = Instant::now();
    let want = sha(&second.to_yaml());
    w.wait_status("the new revision", Duration::from_secs(4), |s| {
        s["policy_revision"] == want.as_str()
    });
    eprintln!(
        "new revision in force after {:?} (poll_interval {POLL})",
        t.elapsed()
    );
    assert!(
        !w.sudo_allowed(),
        "the lock did not apply:\n{}",
        w.evidence()
    );

    // mfactl sync says what changed.
    w.serve(&allowing(&w.user.name), "\"v3\"", false);
    let (code, out) = w.sync();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("- lock/sync-lock"), "{out}");
    assert!(w.sudo_allowed(), "{}", w.evidence());
}

#[test]
fn faults_are_refused_and_the_last_known_good_keeps_deciding() {
    require_root!();
    let key = signing_key_line();
    let w = world(
        "sync-faults",
        |u| {
            let y = allowing(u).to_yaml();
            Content {
                signature: Some(sign_with(&signer(), y.as_bytes())),
                ..content(&y, "\"good\"")
            }
        },
        &format!("  signing_keys: [\"{key}\"]\n"),
    );
    let good = w.revision();
    assert_eq!(
        good,
        sha(&allowing(&w.user.name).to_yaml()),
        "{}",
        w.evidence()
    );
    assert!(w.sudo_allowed(), "{}", w.evidence());
    let lock_yaml = locked(&w.user.name).to_yaml();

    let check = |what: &str, needle: &str| {
        let (code, out) = w.sync();
        assert_eq!(code, Some(1), "{what}: mfactl sync should fail: {out}");
        assert!(out.to_lowercase().contains(needle), "{what}: {out}");
        let s = w.status();
        assert_eq!(s["policy_revision"], good.as_str(), "{what}: {s:#}");
        let err = s["last_error"].as_str().unwrap_or("");
        assert!(
            err.to_lowercase().contains(needle),
            "{what}: last_error {err:?}"
        );
        assert!(
            w.sudo_allowed(),
            "{what}: the last known good should decide\n{}",
            w.evidence()
        );
    };

    // A locking bundle signed by another key: refused, so the lock does not apply.
    w.server.set(|c| {
        c.body = lock_yaml.as_bytes().to_vec();
        c.etag = Some("\"evil\"".into());
        c.signature = Some(sign_with(
            &SigningKey::from_bytes(&[7; 32]),
            lock_yaml.as_bytes(),
        ));
    });
    check("wrong signature", "signature does not verify");
    // Unsigned.
    w.server.set(|c| c.signature = None);
    check("no signature", "http 404");
    // Garbage, correctly signed: refused by the parser.
    let garbage = "<html><body>502 Bad Gateway</body></html>\n";
    w.server.set(|c| {
        c.body = garbage.as_bytes().to_vec();
        c.signature = Some(sign_with(&signer(), garbage.as_bytes()));
    });
    check("garbage", "bundle.yaml:1:1: expected mapping");
    // A body cut short.
    w.serve(&locked(&w.user.name), "\"cut\"", true);
    w.server.set(|c| c.mode = Mode::Truncated);
    check("truncated", "reading the bundle");
    // Slow beyond the 2s timeout.
    w.server
        .set(|c| c.mode = Mode::Slow(Duration::from_secs(4)));
    check("slow", "timed out");
    // Down.
    w.server.set(|c| c.mode = Mode::Normal);
    w.server.set_up(false);
    check("down", "connect");
    let s = w.status();
    assert_eq!(s["sync"]["policy_stale"], false, "{s:#}");

    // Back up with a good signed change: taken.
    w.server.set_up(true);
    w.serve(&locked(&w.user.name), "\"v2\"", true);
    let (code, out) = w.sync();
    assert_eq!(code, Some(0), "{out}\n{}", w.evidence());
    assert!(out.contains("+ lock/sync-lock"), "{out}");
    assert!(!w.sudo_allowed(), "{}", w.evidence());
}

#[test]
fn ca_pins_trust_the_ca_or_the_leaf_and_a_mismatch_is_refused() {
    require_root!();
    // A CA pin (the server sends its CA in the chain), then the leaf's pin.
    let placeholder = unrelated_pin();
    for which in ["ca", "leaf"] {
        let w = world(
            &format!("sync-pin-{which}"),
            |u| content(&allowing(u).to_yaml(), "\"p\""),
            &format!("  ca_pins: [\"{placeholder}\"]\n"),
        );
        // The pin is only known once the server made its PKI: write it and restart.
        let pin = if which == "ca" {
            w.server.pki.ca_pin()
        } else {
            w.server.pki.leaf_pin()
        };
        let mut agent = w.agent;
        rewrite_config(&agent, &placeholder, &pin);
        agent.stop();
        agent.spawn();
        let w = World { agent, ..w };
        assert_eq!(
            w.revision(),
            sha(&allowing(&w.user.name).to_yaml()),
            "{which} pin:\n{}",
            w.evidence()
        );
        assert!(w.sudo_allowed(), "{}", w.evidence());
    }
    // A pin of some other key: nothing is loaded, logins fail closed.
    let w = world(
        "sync-pin-bad",
        |u| content(&allowing(u).to_yaml(), "\"p\""),
        &format!("  ca_pins: [\"{}\"]\n", unrelated_pin()),
    );
    let s = w.status();
    assert_eq!(s["policy_revision"], "", "{s:#}");
    let err = s["last_error"].as_str().unwrap_or("");
    assert!(err.contains("pin mismatch"), "{err}\n{}", w.evidence());
    assert_eq!(
        w.server.counts().bundle_requests,
        0,
        "nothing may be asked of an unpinned server"
    );
    assert!(!w.sudo_allowed(), "{}", w.evidence());
}

fn rewrite_config(agent: &Agent, from: &str, to: &str) {
    let text = std::fs::read_to_string(&agent.config_path).unwrap();
    assert!(text.contains(from), "{text}");
    write_atomic(&agent.config_path, &text.replace(from, to), 0o600);
}

#[test]
fn restarted_offline_the_cache_decides_and_a_tampered_cache_is_refused() {
    require_root!();
    let mut w = world(
        "sync-cache",
        |u| content(&allowing(u).to_yaml(), "\"c1\""),
        "  max_staleness: 1h\n",
    );
    let good = w.revision();
    assert!(!good.is_empty(), "{}", w.evidence());
    assert!(w.sudo_allowed(), "{}", w.evidence());
    let cache = w.work.join("state/last-known-good.json");
    let m = std::fs::metadata(&cache).expect("the cache file exists");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(m.mode() & 0o777, 0o600, "cache file mode");
    assert_eq!(
        std::fs::metadata(w.work.join("state")).unwrap().mode() & 0o777,
        0o700
    );

    // Offline restart: the same decision, from the cache.
    w.server.set_up(false);
    w.agent.stop();
    w.agent.spawn();
    let s = w.status();
    assert_eq!(
        s["policy_revision"],
        good.as_str(),
        "{s:#}\n{}",
        w.evidence()
    );
    assert_eq!(s["sync"]["from_cache"], true, "{s:#}");
    let text = w.agent.mfactl(&["status"]).stdout;
    assert!(text.contains("from cache:      yes"), "{text}");
    assert!(w.sudo_allowed(), "{}", w.evidence());
    // It keeps trying, and says why it fails.
    w.wait_status("a pull error", Duration::from_secs(5), |s| {
        s["last_error"].as_str().is_some_and(|e| !e.is_empty())
    });

    // The source comes back with the same ETag: a 304 confirms the cached copy.
    let before = w.server.counts().not_modified;
    w.server.set_up(true);
    w.wait_status("confirmed by the source", Duration::from_secs(8), |s| {
        s["sync"]["from_cache"] == false
    });
    assert!(w.server.counts().not_modified > before, "{}", w.evidence());

    // Tampered (the user's role list edited in the cached bundle): refused at
    // start with a clear error; with the source down nothing is loaded.
    w.server.set_up(false);
    w.agent.stop();
    let text = std::fs::read_to_string(&cache).unwrap();
    let edited = text.replacen("access-prod", "access-pwnd", 1);
    assert_ne!(text, edited);
    std::fs::write(&cache, edited).unwrap();
    w.agent.spawn();
    let s = w.status();
    assert_eq!(s["policy_revision"], "", "{s:#}");
    let ce = s["sync"]["cache_error"].as_str().unwrap_or("");
    assert!(ce.contains("tampered"), "{ce}\n{}", w.evidence());
    assert!(
        w.agent.log().contains("last known good refused"),
        "{}",
        w.agent.log()
    );
    assert!(!w.sudo_allowed(), "{}", w.evidence());
}

#[test]
fn past_max_staleness_the_fail_mode_applies() {
    require_root!();
    let w = world(
        "sync-stale",
        |u| content(&allowing(u).to_yaml(), "\"s\""),
        "  max_staleness: 3s\n",
    );
    assert!(w.sudo_allowed(), "{}", w.evidence());
    w.server.set_up(false);
    w.wait_status("stale", Duration::from_secs(10), |s| {
        s["sync"]["policy_stale"] == true
    });
    assert!(
        !w.sudo_allowed(),
        "a stale policy must not decide:\n{}",
        w.evidence()
    );
    let login = w.user.name.clone();
    let e = w
        .agent
        .wait_audit(Duration::from_secs(5), |e| {
            field(e, "login") == login && field(e, "reason").contains("policy stale")
        })
        .unwrap_or_else(|| panic!("no stale-policy decision:\n{}", w.evidence()));
    assert_eq!(field(&e, "result"), "deny");
    // Back in contact: fresh again.
    w.server.set_up(true);
    w.wait_status("fresh", Duration::from_secs(10), |s| {
        s["sync"]["policy_stale"] == false
    });
    assert!(w.sudo_allowed(), "{}", w.evidence());
}

#[test]
fn strict_locking_denies_on_a_stale_lock_view_and_best_effort_decides() {
    require_root!();
    for (mode, allowed_when_stale) in [("strict", false), ("best_effort", true)] {
        let w = world(
            &format!("sync-{mode}"),
            |u| content(&with_locking_mode(u, mode).to_yaml(), "\"m\""),
            "  lock_view_max_age: 2s\n  max_staleness: 1h\n",
        );
        assert!(w.sudo_allowed(), "{mode}:\n{}", w.evidence());
        let s = w.status();
        assert_eq!(s["sync"]["locking_mode"], mode, "{s:#}");
        w.server.set_up(false);
        w.wait_status("lock view stale", Duration::from_secs(10), |s| {
            s["sync"]["lock_view_stale"] == true
        });
        assert_eq!(
            w.sudo_allowed(),
            allowed_when_stale,
            "{mode}:\n{}",
            w.evidence()
        );
        if mode == "strict" {
            let s = w.status();
            assert!(
                s["sync"]["policy_state"]
                    .as_str()
                    .unwrap_or("")
                    .contains("lock view stale"),
                "{s:#}"
            );
            let f = w.agent.mfactl(&["explain", "--login", &w.user.name]);
            assert!(
                f.stdout.contains("lock view stale"),
                "mfactl explain: {}{}",
                f.stdout,
                f.stderr
            );
        }
    }
}

#[test]
fn the_bearer_token_is_sent_and_never_logged() {
    require_root!();
    let secret = format!("tok-{}", pam_mfa_e2e::random_hex(16));
    let work_token = secret.clone();
    let w = world(
        "sync-token",
        move |u| Content {
            token: Some(work_token.clone()),
            ..content(&allowing(u).to_yaml(), "\"t\"")
        },
        "  token_file: /nonexistent/pam-mfa-token\n",
    );
    // Without a token file nothing is asked; with a wrong token the server says 401.
    let s = w.status();
    assert!(
        s["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("token_file"),
        "{s:#}"
    );
    assert_eq!(w.server.counts().bundle_requests, 0);
    let token_file = w.work.write("token", "wrong-token\n", 0o600);
    let mut agent = w.agent;
    rewrite_config(
        &agent,
        "/nonexistent/pam-mfa-token",
        &format!("\"{}\"", token_file.display()),
    );
    let (code, out) = {
        let f = agent.mfactl(&["sync"]);
        (f.code, f.stdout + &f.stderr)
    };
    assert_eq!(code, Some(1), "{out}");
    agent.stop();
    agent.spawn();
    let s: Value = serde_json::from_str(&agent.mfactl(&["status", "--json"]).stdout).unwrap();
    assert!(
        s["last_error"].as_str().unwrap_or("").contains("401"),
        "{s:#}"
    );
    std::fs::write(&token_file, format!("{secret}\n")).unwrap();
    agent.stop();
    agent.spawn();
    let w = World { agent, ..w };
    // The token file is read on every pull: no restart needed.
    w.wait_status("a policy", Duration::from_secs(8), |s| {
        s["policy_revision"] != ""
    });
    assert!(w.sudo_allowed(), "{}", w.evidence());
    let status = w.agent.mfactl(&["status", "--json"]).stdout;
    for (name, text) in [
        ("log", w.agent.log()),
        ("audit", w.agent.audit_text()),
        ("status", status),
    ] {
        assert!(!text.contains(&secret), "the token appears in the {name}");
    }
}

#[test]
fn a_bundle_over_max_bundle_bytes_is_refused() {
    require_root!();
    let w = world(
        "sync-size",
        |u| content(&allowing(u).to_yaml(), "\"small\""),
        "  max_bundle_bytes: 8192\n",
    );
    let good = w.revision();
    assert!(!good.is_empty(), "{}", w.evidence());
    let padded = format!("# {}\n{}", "x".repeat(9000), locked(&w.user.name).to_yaml());
    w.server.set(|c| {
        c.body = padded.into_bytes();
        c.etag = Some("\"big\"".into());
    });
    let (code, out) = w.sync();
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("over the limit of 8192"), "{out}");
    assert_eq!(w.revision(), good);
    assert!(w.sudo_allowed(), "{}", w.evidence());
}

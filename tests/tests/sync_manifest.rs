//! The whole chain of issue 12: `mfactl publish` (target/debug/mfactl)
//! writes a signed publisher directory, Debian's nginx serves it over HTTPS
//! (a test CA), and two `mfa-agent`s pull it in manifest mode. A published
//! lock ends a live SSH session (real sshd) on both hosts within one poll +
//! 2 s; an older signed set restored on the server is refused as a
//! rollback; a tampered bundle and a set of another source are refused, each
//! shown by `mfactl status` with its reason while the policy in force stays;
//! a person taps through real sshd with a key that exists only in the
//! published user's Teleport `local_auth` (no `mfa_device` document, no
//! local credential file).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::nginx::Nginx;
use pam_mfa_e2e::process::{run_with_timeout, wait_until};
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::teleport_user::{teleport_key, teleport_policy, DEVICE_ID, SECRETS};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};
use serde_json::Value;

/// The agents' `cluster.poll_interval`.
const POLL: Duration = Duration::from_secs(1);
/// The bound: a lock ends the session within one poll plus this.
const END_MARGIN: Duration = Duration::from_secs(2);
/// `mfactl publish --source-name` and the agents' `cluster.source_name`.
const SOURCE: &str = "e2e-cluster";

/// `mfactl publish` with its own key, into a directory.
struct Publisher {
    key: PathBuf,
    input: PathBuf,
}

impl Publisher {
    fn new(work: &WorkDir) -> Publisher {
        let key = work.join("publisher_key");
        let out = run_with_timeout(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "publisher", "-f"])
                .arg(&key),
            Duration::from_secs(20),
        );
        assert!(out.success(), "ssh-keygen: {}{}", out.stdout, out.stderr);
        Publisher {
            key,
            input: work.join("tctl-get.yaml"),
        }
    }

    /// The line for the agents' `cluster.signing_keys`.
    fn public_line(&self) -> String {
        let text = std::fs::read_to_string(self.key.with_extension("pub")).expect("key.pub");
        text.trim().to_string()
    }

    /// `mfactl publish --from INPUT --out DIR --signing-key KEY --source-name NAME`.
    fn publish_to(&self, dir: &Path, bundle: &Bundle, source: &str) {
        std::fs::write(&self.input, bundle.to_yaml()).expect("write input");
        let out = run_with_timeout(
            Command::new(bins::mfactl())
                .arg("publish")
                .arg("--from")
                .arg(&self.input)
                .arg("--out")
                .arg(dir)
                .arg("--signing-key")
                .arg(&self.key)
                .args(["--source-name", source]),
            Duration::from_secs(30),
        );
        assert!(
            out.success(),
            "mfactl publish: {}{}",
            out.stdout,
            out.stderr
        );
    }
}

/// Copies a published set from `from` into the served `to` as a publisher
/// writes one: bundles, then the signature, then the manifest, each renamed
/// into place.
fn copy_set(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("bundles")).unwrap();
    let bundles: Vec<PathBuf> = std::fs::read_dir(from.join("bundles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for b in bundles {
        let name = b.file_name().unwrap().to_str().unwrap().to_string();
        put(&b, &to.join("bundles").join(name));
    }
    put(
        &from.join("manifest.json.sig"),
        &to.join("manifest.json.sig"),
    );
    put(&from.join("manifest.json"), &to.join("manifest.json"));
}

fn put(src: &Path, dst: &Path) {
    let tmp = dst.with_extension("copy-tmp");
    std::fs::copy(src, &tmp).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
    std::fs::rename(&tmp, dst).unwrap();
}

/// One host: an agent in manifest mode, and an sshd in front of it when
/// live sessions are tested.
struct Host {
    sshd: Option<Sshd>,
    agent: Agent,
}

/// Fields drop in order: hosts, nginx, user, work dir.
struct World {
    hosts: Vec<Host>,
    nginx: Nginx,
    publisher: Publisher,
    served: PathBuf,
    user: TestUser,
    sk: SshKey,
    work: WorkDir,
}

/// The user may log in on these `env: prod` nodes with the registered key
/// (access-prod requires session MFA).
fn base(user: &str, sk: &SshKey) -> Bundle {
    Bundle::new()
        .role(
            "access-prod",
            &[("env", "prod")],
            &["{{internal.logins}}"],
            Some("true"),
        )
        .cap("false")
        .user(user, &["access-prod"], &[user])
        .sk_device(&format!("{user}-sk0"), user, &sk.public_line)
}

fn with_lock(b: Bundle, user: &str) -> Bundle {
    b.raw(&format!(
        "kind: lock\nversion: v2\nmetadata:\n  name: lock-{user}\nspec:\n  target:\n    user: \"{user}\"\n  message: \"offboarded\"\n"
    ))
}

fn world(label: &str, with_sshd: bool) -> World {
    let work = WorkDir::new(label);
    let user = TestUser::create();
    let sk = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    let publisher = Publisher::new(&work);
    let served = work.subdir("pub", 0o755);
    publisher.publish_to(&served, &base(&user.name, &sk), SOURCE);
    let nginx = Nginx::start(&work, &served);
    let hosts = (0..2)
        .map(|i| host(&work, &nginx, &publisher, i, with_sshd))
        .collect();
    World {
        hosts,
        nginx,
        publisher,
        served,
        user,
        sk,
        work,
    }
}

fn host(work: &WorkDir, nginx: &Nginx, publisher: &Publisher, i: usize, with_sshd: bool) -> Host {
    let service = unique_name("sshd-mfat");
    let mut config = AgentConfig {
        node_name: format!("manifest-host-{i}"),
        extra_yaml: "sessions:\n  end_grace: 2s\n".into(),
        ..AgentConfig::with_env("prod").service(&service, "ssh")
    };
    config.cluster_yaml = Some(format!(
        "  source: \"{}\"\n  source_name: {SOURCE}\n  signing_keys: [\"{}\"]\n  ca_file: \"{}\"\n  state_dir: \"{}\"\n  poll_interval: {}s\n  timeout: 2s\n  connect_timeout: 1s\n  max_backoff: 2s\n",
        nginx.url("manifest.json"),
        publisher.public_line(),
        nginx.ca_file.display(),
        work.join(&format!("state-{i}")).display(),
        POLL.as_secs()
    ));
    let agent = Agent::start(work, &config, &Bundle::new());
    let sshd = with_sshd.then(|| {
        let m = bins::pam_module();
        bins::require(&m);
        let args = module_args(&agent.socket, "");
        let stack = format!(
            "auth required {m} {args}\naccount required {m} {args}\nsession required {m} {args}\n",
            m = m.display()
        );
        Sshd::start(
            work,
            &SshdOptions::new(&stack)
                .keys_from_agent(&agent.socket)
                .service_name(&service),
        )
    });
    Host { sshd, agent }
}

impl World {
    fn publish(&self, bundle: &Bundle) {
        self.publisher.publish_to(&self.served, bundle, SOURCE);
    }

    fn status(&self, h: &Host) -> Value {
        let f = h.agent.mfactl(&["status", "--json"]);
        assert!(f.success(), "mfactl status: {}{}", f.stdout, f.stderr);
        serde_json::from_str(&f.stdout).expect("status JSON")
    }

    /// Waits until every agent has `revision` in force.
    fn wait_revision(&self, revision: &str) {
        for h in &self.hosts {
            let ok = wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
                self.status(h)["policy_revision"] == revision
            });
            assert!(ok, "revision {revision} not in force\n{}", self.evidence(h));
        }
    }

    /// The revision every agent has in force (they must agree).
    fn revision(&self) -> String {
        let revs: Vec<String> = self
            .hosts
            .iter()
            .map(|h| {
                self.status(h)["policy_revision"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        assert!(revs.iter().all(|r| r == &revs[0]), "{revs:?}");
        revs[0].clone()
    }

    /// The served manifest's bundle hash (= the agents' revision for it).
    fn served_sha(&self) -> String {
        let m: Value =
            serde_json::from_slice(&std::fs::read(self.served.join("manifest.json")).unwrap())
                .unwrap();
        m["bundle"]["sha256"].as_str().unwrap().to_string()
    }

    /// `mfactl sync` on every host must be refused for `kind`; the status
    /// shows it and `revision` stays in force.
    fn assert_refused(&self, kind: &str, needle: &str, revision: &str) {
        for h in &self.hosts {
            let f = h.agent.mfactl(&["sync"]);
            let out = format!("{}{}", f.stdout, f.stderr);
            assert_eq!(f.code, Some(1), "{kind}: {out}\n{}", self.evidence(h));
            assert!(out.contains(&format!("manifest refused ({kind})")), "{out}");
            let s = self.status(h);
            let m = &s["sync"]["manifest"];
            assert_eq!(m["last_refusal_kind"], kind, "{s:#}");
            assert!(
                m["last_refusal"].as_str().unwrap_or("").contains(needle),
                "{kind}: {s:#}"
            );
            assert_eq!(s["policy_revision"], revision, "{kind}: {s:#}");
            let human = h.agent.mfactl(&["status"]).stdout;
            assert!(
                human.contains(&format!("last refusal:    {kind} at ")),
                "{human}"
            );
            let audited = h.agent.wait_audit(Duration::from_secs(5), |e| {
                field(e, "event") == "manifest_refused" && field(e, "reason").contains(kind)
            });
            assert!(
                audited.is_some(),
                "{kind} not audited\n{}",
                self.evidence(h)
            );
        }
    }

    fn ssh(&self, h: &Host, cmd: &str) -> SshOutcome {
        let sshd = h.sshd.as_ref().expect("a host with sshd");
        let mut l = SshLogin::new(sshd.port, &self.user.name, &self.sk);
        l.timeout = Duration::from_secs(60);
        l.run(&self.work, cmd)
    }

    fn wait_listed(&self, h: &Host) {
        let name = self.user.name.clone();
        let ok = wait_until(Duration::from_secs(20), Duration::from_millis(100), || {
            let f = h.agent.mfactl(&["sessions", "--json"]);
            let list: Value = serde_json::from_str(&f.stdout).unwrap_or(Value::Null);
            list.as_array()
                .is_some_and(|l| l.iter().any(|s| field(s, "login") == name))
        });
        assert!(ok, "no live session listed\n{}", self.evidence(h));
    }

    fn evidence(&self, h: &Host) -> String {
        format!(
            "{}\n--- nginx\n{}\n--- nginx access (tail)\n{}",
            h.agent.evidence(),
            self.nginx.log(),
            tail(&self.nginx.access_log(), 20)
        )
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[test]
fn a_published_lock_ends_live_sessions_on_two_hosts_within_one_poll_plus_two_seconds() {
    require_root!();
    let w = world("manifest-lock", true);
    w.wait_revision(&w.served_sha());
    let s = w.status(&w.hosts[0]);
    assert_eq!(s["policy_source"], w.nginx.url("manifest.json"), "{s:#}");
    assert_eq!(s["sync"]["manifest"]["source_name"], SOURCE, "{s:#}");
    assert!(s["sync"]["manifest"]["serial"].as_u64().is_some(), "{s:#}");
    let w = &w;
    let took = thread::scope(|scope| {
        let clients: Vec<_> = w
            .hosts
            .iter()
            .map(|h| scope.spawn(move || (w.ssh(h, "sleep 300"), Instant::now())))
            .collect();
        for h in &w.hosts {
            w.wait_listed(h);
        }
        let published = Instant::now();
        w.publish(&with_lock(base(&w.user.name, &w.sk), &w.user.name));
        clients
            .into_iter()
            .map(|c| {
                let (out, exited) = c.join().expect("ssh thread");
                assert!(!out.success(), "{}", out.describe());
                exited.duration_since(published)
            })
            .collect::<Vec<_>>()
    });
    for (i, t) in took.iter().enumerate() {
        eprintln!(
            "MANIFEST-FIGURE host {i}: lock published -> ssh exited: {} ms",
            t.as_millis()
        );
        assert!(
            *t < POLL + END_MARGIN,
            "host {i}: the session outlived the published lock by {t:?}\n{}",
            w.evidence(&w.hosts[i])
        );
    }
    for h in &w.hosts {
        let ended = h.agent.wait_audit(Duration::from_secs(10), |e| {
            field(e, "event") == "session_ended" && field(e, "reason").contains("offboarded")
        });
        assert!(ended.is_some(), "{}", w.evidence(h));
        let again = w.ssh(h, "true");
        assert_eq!(again.exit_code(), Some(255), "{}", again.describe());
    }
}

#[test]
fn an_older_signed_set_restored_on_the_server_is_refused_as_rollback() {
    require_root!();
    let mut w = world("manifest-rollback", false);
    w.wait_revision(&w.served_sha());
    let older = w.work.subdir("older-set", 0o755);
    copy_set(&w.served, &older);
    // The lock is published; both agents take it.
    w.publish(&with_lock(base(&w.user.name, &w.sk), &w.user.name));
    let newer = w.served_sha();
    w.wait_revision(&newer);
    // Whoever controls the web server brings the older signed set back.
    copy_set(&older, &w.served);
    assert_ne!(w.served_sha(), newer);
    w.assert_refused("rollback", "lower than the last known good serial", &newer);
    // A restarted agent still refuses it: the serial is kept in its state dir.
    w.hosts[0].agent.stop();
    w.hosts[0].agent.spawn();
    assert_eq!(w.revision(), newer);
    w.assert_refused("rollback", "lower than the last known good serial", &newer);
}

#[test]
fn a_tampered_bundle_and_a_set_of_another_source_are_refused() {
    require_root!();
    let w = world("manifest-tamper", false);
    let good = w.served_sha();
    w.wait_revision(&good);
    // A new set whose bundle is changed after signing (a lock removed by
    // whoever controls the server would look the same).
    let staged = w.work.subdir("staged", 0o755);
    copy_set(&w.served, &staged);
    w.publisher.publish_to(
        &staged,
        &with_lock(base(&w.user.name, &w.sk), &w.user.name),
        SOURCE,
    );
    let m: Value =
        serde_json::from_slice(&std::fs::read(staged.join("manifest.json")).unwrap()).unwrap();
    let bundle = staged.join(m["bundle"]["path"].as_str().unwrap());
    let text = std::fs::read_to_string(&bundle).unwrap();
    let tampered = text.replace("offboarded", "onboarded!");
    assert_ne!(text, tampered);
    std::fs::write(&bundle, tampered).unwrap();
    copy_set(&staged, &w.served);
    w.assert_refused("bundle_mismatch", "the manifest says", &good);
    // A validly signed set of another source (another cluster's publisher
    // with the same key) is not this cluster's policy.
    let other = w.work.subdir("other-source", 0o755);
    w.publisher.publish_to(
        &other,
        &with_lock(base(&w.user.name, &w.sk), &w.user.name),
        "staging",
    );
    copy_set(&other, &w.served);
    w.assert_refused("wrong_source", "\"staging\"", &good);
    // The real set again: taken.
    w.publish(&with_lock(base(&w.user.name, &w.sk), &w.user.name));
    w.wait_revision(&w.served_sha());
}

#[test]
fn a_key_registered_only_in_teleport_taps_through_the_published_policy() {
    require_root!();
    let w = world("manifest-teleport-key", true);
    let (key_file, credential_id, public_key_cbor) = teleport_key(w.work.path());
    let plain = SshKey::generate(w.work.path(), "id_plain", KeyKind::Ed25519, false);
    w.user.authorize_keys(&[plain.public_line.as_str()]);
    w.publish(&teleport_policy(
        &w.user.name,
        &credential_id,
        &public_key_cbor,
    ));
    w.wait_revision(&w.served_sha());
    // What nginx serves holds the public key, none of the secrets.
    let served =
        std::fs::read_to_string(w.served.join(format!("bundles/{}.json", w.served_sha()))).unwrap();
    assert!(served.contains(&credential_id), "{served}");
    for secret in SECRETS {
        assert!(!served.contains(secret), "{secret} was published");
    }
    // No credential file on the person's side: XDG_CONFIG_HOME is empty.
    let empty_config = w.work.subdir("empty-config", 0o700);
    for h in &w.hosts {
        let sshd = h.sshd.as_ref().expect("sshd");
        let mut l = SshLogin::new(sshd.port, &w.user.name, &plain)
            .tap(&bins::soft_mfactl(), Path::new("/nonexistent"));
        l.extra_env.extend([
            ("PAM_MFA_SOFT_FIDO2".into(), key_file.display().to_string()),
            ("XDG_CONFIG_HOME".into(), empty_config.display().to_string()),
        ]);
        let out = l.run(&w.work, "id -un");
        assert!(out.success(), "{}\n{}", out.describe(), w.evidence(h));
        assert_eq!(out.stdout().trim(), w.user.name);
        let auth = h
            .agent
            .audit_events()
            .into_iter()
            .rev()
            .find(|e| {
                e["event"] == "decision"
                    && e["login"] == w.user.name.as_str()
                    && e["hook"] == "auth"
            })
            .expect("an auth decision");
        assert_eq!(auth["result"], "allow", "{auth}");
        assert_eq!(auth["evidence"], "tap_webauthn_touch", "{auth}");
        assert_eq!(auth["device"], DEVICE_ID, "{auth}");
    }
}

//! What the sync_manifest tests share: a publisher (mfactl publish into a
//! directory nginx serves), hosts with an agent in manifest mode (and an
//! sshd), the bundles they publish, and file helpers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::nginx::Nginx;
use pam_mfa_e2e::process::wait_until;
pub(crate) use pam_mfa_e2e::publisher::Publisher;
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::unique_name;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use serde_json::Value;

/// The agents' `cluster.poll_interval`.
pub(crate) const POLL: Duration = Duration::from_secs(1);
/// The bound: a lock ends the session within one poll plus this.
pub(crate) const END_MARGIN: Duration = Duration::from_secs(2);
/// `mfactl publish --source-name` and the agents' `cluster.source_name`.
pub(crate) const SOURCE: &str = "e2e-cluster";

/// Copies a published set from `from` into the served `to` as a publisher
/// writes one: bundles, then the signature, then the manifest, each renamed
/// into place.
pub(crate) fn copy_set(from: &Path, to: &Path) {
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

pub(crate) fn put(src: &Path, dst: &Path) {
    let tmp = dst.with_extension("copy-tmp");
    std::fs::copy(src, &tmp).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
    std::fs::rename(&tmp, dst).unwrap();
}

/// One host: an agent in manifest mode, and an sshd in front of it when
/// live sessions are tested.
pub(crate) struct Host {
    pub(crate) sshd: Option<Sshd>,
    pub(crate) agent: Agent,
}

/// Fields drop in order: hosts, nginx, user, work dir.
pub(crate) struct World {
    pub(crate) hosts: Vec<Host>,
    pub(crate) nginx: Nginx,
    pub(crate) publisher: Publisher,
    pub(crate) served: PathBuf,
    pub(crate) user: TestUser,
    pub(crate) sk: SshKey,
    pub(crate) work: WorkDir,
}

/// The user may log in on these `env: prod` nodes with the registered key
/// (access-prod requires session MFA).
pub(crate) fn base(user: &str, sk: &SshKey) -> Bundle {
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

pub(crate) fn with_lock(b: Bundle, user: &str) -> Bundle {
    b.raw(&format!(
        "kind: lock\nversion: v2\nmetadata:\n  name: lock-{user}\nspec:\n  target:\n    user: \"{user}\"\n  message: \"offboarded\"\n"
    ))
}

pub(crate) fn world(label: &str, with_sshd: bool) -> World {
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

pub(crate) fn host(
    work: &WorkDir,
    nginx: &Nginx,
    publisher: &Publisher,
    i: usize,
    with_sshd: bool,
) -> Host {
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
    pub(crate) fn publish(&self, bundle: &Bundle) {
        self.publisher.publish_to(&self.served, bundle, SOURCE);
    }

    pub(crate) fn status(&self, h: &Host) -> Value {
        let f = h.agent.mfactl(&["status", "--json"]);
        assert!(f.success(), "mfactl status: {}{}", f.stdout, f.stderr);
        serde_json::from_str(&f.stdout).expect("status JSON")
    }

    /// Waits until every agent has `revision` in force.
    pub(crate) fn wait_revision(&self, revision: &str) {
        for h in &self.hosts {
            let ok = wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
                self.status(h)["policy_revision"] == revision
            });
            assert!(ok, "revision {revision} not in force\n{}", self.evidence(h));
        }
    }

    /// The revision every agent has in force (they must agree).
    pub(crate) fn revision(&self) -> String {
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
    pub(crate) fn served_sha(&self) -> String {
        let m: Value =
            serde_json::from_slice(&std::fs::read(self.served.join("manifest.json")).unwrap())
                .unwrap();
        m["bundle"]["sha256"].as_str().unwrap().to_string()
    }

    /// `mfactl sync` on every host must be refused for `kind`; the status
    /// shows it and `revision` stays in force.
    pub(crate) fn assert_refused(&self, kind: &str, needle: &str, revision: &str) {
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

    pub(crate) fn ssh(&self, h: &Host, cmd: &str) -> SshOutcome {
        let sshd = h.sshd.as_ref().expect("a host with sshd");
        let mut l = SshLogin::new(sshd.port, &self.user.name, &self.sk);
        l.timeout = Duration::from_secs(60);
        l.run(&self.work, cmd)
    }

    pub(crate) fn wait_listed(&self, h: &Host) {
        let name = self.user.name.clone();
        let ok = wait_until(Duration::from_secs(20), Duration::from_millis(100), || {
            let f = h.agent.mfactl(&["sessions", "--json"]);
            let list: Value = serde_json::from_str(&f.stdout).unwrap_or(Value::Null);
            list.as_array()
                .is_some_and(|l| l.iter().any(|s| field(s, "login") == name))
        });
        assert!(ok, "no live session listed\n{}", self.evidence(h));
    }

    pub(crate) fn evidence(&self, h: &Host) -> String {
        format!(
            "{}\n--- nginx\n{}\n--- nginx access (tail)\n{}",
            h.agent.evidence(),
            self.nginx.log(),
            tail(&self.nginx.access_log(), 20)
        )
    }
}

pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

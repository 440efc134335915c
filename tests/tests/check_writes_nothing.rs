//! `mfa-agent --check` writes nothing in `cluster.state_dir`, for every
//! source kind (a `file://` directory, a `file://` manifest, an `https://`
//! bundle, an `https://` manifest), while it still judges what a start
//! would load, a rollback below the recorded floor included.
//!
//! The reviewer's lockout: a check of a copy of the publisher directory
//! saved its pull as the last known good copy (and raised the floor), so
//! the running agent, restarted with its source unreachable, refused that
//! copy as another source's and started with no policy: every login failed
//! closed. Here the restart still starts from its own copy.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::https_server::{Content, HttpsServer, Mode};
use pam_mfa_e2e::nginx::Nginx;
use pam_mfa_e2e::process::{run_with_timeout, wait_until, Finished};
use pam_mfa_e2e::publisher::Publisher;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::workdir::WorkDir;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `mfactl publish --source-name` and the agents' `cluster.source_name`.
const SOURCE_NAME: &str = "demo";

/// Every file of the state directory: bytes, inode, mtime (the agent
/// writes by rename, so even a rewrite of the same bytes shows).
type Snapshot = BTreeMap<String, (Vec<u8>, u64, i64, i64)>;

fn snapshot(dir: &Path) -> Snapshot {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let m = std::fs::symlink_metadata(&path).unwrap();
            let bytes = if m.is_file() {
                std::fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, (bytes, m.ino(), m.mtime(), m.mtime_nsec()))
        })
        .collect()
}

/// `--check` refused a manifest below the recorded floor, and wrote nothing.
fn assert_rollback_refused(state: &Path, before: &Snapshot, check: &Finished) {
    assert!(
        check.code == Some(1) && check.stderr.contains("rollback"),
        "{}\n{}",
        check.stdout,
        check.stderr
    );
    assert_unchanged(state, before, check);
}

fn assert_unchanged(state: &Path, before: &Snapshot, check: &Finished) {
    let after = snapshot(state);
    let names = |s: &Snapshot| s.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&after),
        names(before),
        "--check changed the state dir's files\n{}\n{}",
        check.stdout,
        check.stderr
    );
    for (name, was) in before {
        assert!(
            after[name] == *was,
            "--check rewrote {name}\n{}",
            check.stderr
        );
    }
}

/// `mfa-agent --check` on the running agent's agent.yaml with its source
/// `from` replaced by `to` (the candidate configuration).
fn check_with_source(agent: &Agent, work: &WorkDir, from: &str, to: &str) -> Finished {
    let text = std::fs::read_to_string(&agent.config_path).unwrap();
    assert!(text.contains(from), "{from} not in\n{text}");
    let candidate = work.write("candidate.yaml", &text.replace(from, to), 0o600);
    run_with_timeout(
        Command::new(bins::mfa_agent())
            .arg("--check")
            .arg("--config")
            .arg(candidate),
        Duration::from_secs(30),
    )
}

fn status(agent: &Agent) -> Value {
    let f = agent.mfactl(&["status", "--json"]);
    assert!(f.success(), "mfactl status: {}{}", f.stdout, f.stderr);
    serde_json::from_str(&f.stdout).expect("status JSON")
}

fn wait_revision(agent: &Agent, revision: &str) {
    let ok = wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
        status(agent)["policy_revision"] == revision
    });
    assert!(ok, "revision {revision} not in force\n{}", agent.evidence());
}

/// The running agent restarted with its source unreachable: it starts from
/// its own last known good copy, `revision`.
fn restart_from_cache(agent: &mut Agent, revision: &str) {
    agent.stop();
    agent.spawn();
    let s = status(agent);
    assert_eq!(
        s["policy_revision"],
        revision,
        "{s:#}\n{}",
        agent.evidence()
    );
    assert_eq!(s["sync"]["from_cache"], true, "{s:#}");
}

fn sha(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn bundle(login: &str) -> Bundle {
    Bundle::new()
        .role("access-dev", &[("env", "dev")], &[login], None)
        .cap("false")
}

/// Publishes `login`'s bundle into `dir`; returns its SHA-256.
fn publish(publisher: &Publisher, dir: &Path, login: &str) -> String {
    publisher.publish_to(dir, &bundle(login), SOURCE_NAME);
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    m["bundle"]["sha256"].as_str().unwrap().to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    let out = run_with_timeout(
        Command::new("cp").arg("-a").arg(from).arg(to),
        Duration::from_secs(20),
    );
    assert!(out.success(), "cp: {}", out.stderr);
}

/// An agent whose cluster section is `source` (plus `extra` keys), its
/// state in `work/state`.
fn start_agent(work: &WorkDir, source: &str, extra: &str) -> (Agent, PathBuf) {
    let state = work.subdir("state", 0o700);
    let mut config = AgentConfig::with_env("dev");
    config.cluster_yaml = Some(format!(
        "  source: \"{source}\"\n  state_dir: \"{}\"\n  poll_interval: 1s\n  timeout: 2s\n  connect_timeout: 1s\n  max_backoff: 2s\n{extra}",
        state.display()
    ));
    (Agent::start(work, &config, &Bundle::new()), state)
}

fn manifest_keys(publisher: &Publisher) -> String {
    format!(
        "  source_name: {SOURCE_NAME}\n  signing_keys: [\"{}\"]\n",
        publisher.public_line()
    )
}

#[test]
fn a_check_of_a_copied_file_manifest_source_leaves_the_state_dir_and_the_restart_its_copy() {
    require_root!();
    let work = WorkDir::new("check-file-manifest");
    let publisher = Publisher::new(&work);
    let published = work.subdir("pub", 0o755);
    publish(&publisher, &published, "jerry");
    let older = work.join("older");
    copy_dir(&published, &older);
    let running = publish(&publisher, &published, "tom");
    let source = format!("file://{}", published.join("manifest.json").display());
    let (mut agent, state) = start_agent(&work, &source, &manifest_keys(&publisher));
    wait_revision(&agent, &running);
    agent.stop();
    let before = snapshot(&state);
    for f in [
        "last-known-good.json",
        "last-contact.json",
        "manifest-floor-demo.json",
    ] {
        assert!(before.contains_key(f), "{f}: {:?}", before.keys());
    }

    // A copy of the publisher directory, then published to: a newer serial.
    let copied = work.join("pub2");
    copy_dir(&published, &copied);
    let newer = publish(&publisher, &copied, "spike");
    let pub2 = copied.join("manifest.json").display().to_string();
    let check = check_with_source(&agent, &work, &source, &format!("file://{pub2}"));
    assert!(
        check.success()
            && check.stdout.contains("configuration ok")
            && check.stdout.contains(&newer),
        "{}\n{}",
        check.stdout,
        check.stderr
    );
    assert_unchanged(&state, &before, &check);

    // An older signed set: a rollback below the recorded floor.
    let older_manifest = older.join("manifest.json").display().to_string();
    let check = check_with_source(&agent, &work, &source, &format!("file://{older_manifest}"));
    assert_rollback_refused(&state, &before, &check);

    std::fs::rename(&published, work.join("pub-gone")).unwrap();
    restart_from_cache(&mut agent, &running);
}

#[test]
fn a_check_of_another_https_manifest_source_writes_nothing_and_refuses_a_rollback() {
    require_root!();
    let work = WorkDir::new("check-https-manifest");
    let publisher = Publisher::new(&work);
    let served = work.subdir("served", 0o755);
    let published = work.subdir("served/pub", 0o755);
    publish(&publisher, &published, "jerry");
    copy_dir(&published, &served.join("older"));
    let running = publish(&publisher, &published, "tom");
    let nginx = Nginx::start(&work, &served);
    let source = nginx.url("pub/manifest.json");
    let extra = format!(
        "{}  ca_file: \"{}\"\n",
        manifest_keys(&publisher),
        nginx.ca_file.display()
    );
    let (mut agent, state) = start_agent(&work, &source, &extra);
    wait_revision(&agent, &running);
    agent.stop();
    let before = snapshot(&state);

    copy_dir(&published, &served.join("pub2"));
    let newer = publish(&publisher, &served.join("pub2"), "spike");
    let check = check_with_source(&agent, &work, &source, &nginx.url("pub2/manifest.json"));
    assert!(
        check.success() && check.stdout.contains(&newer),
        "{}\n{}",
        check.stdout,
        check.stderr
    );
    assert_unchanged(&state, &before, &check);

    let check = check_with_source(&agent, &work, &source, &nginx.url("older/manifest.json"));
    assert_rollback_refused(&state, &before, &check);

    drop(nginx);
    restart_from_cache(&mut agent, &running);
}

#[test]
fn a_check_of_another_https_bundle_url_writes_nothing() {
    require_root!();
    let work = WorkDir::new("check-https-bundle");
    let first = bundle("jerry").to_yaml();
    let server = HttpsServer::start(
        &work,
        Content {
            body: first.as_bytes().to_vec(),
            etag: Some("\"v1\"".into()),
            signature: None,
            mode: Mode::Normal,
            token: None,
        },
    );
    let source = server.url();
    let extra = format!("  ca_file: \"{}\"\n", server.ca_file.display());
    let (mut agent, state) = start_agent(&work, &source, &extra);
    wait_revision(&agent, &sha(&first));
    agent.stop();
    let before = snapshot(&state);
    assert!(before.contains_key("last-known-good.json"), "{before:?}");

    // The server now serves another bundle; the candidate names another URL
    // (the cache is of the running agent's URL, so the check pulls).
    let second = bundle("tom").to_yaml();
    server.set(|c| {
        c.body = second.as_bytes().to_vec();
        c.etag = Some("\"v2\"".into());
    });
    let check = check_with_source(&agent, &work, &source, &format!("{source}?candidate"));
    assert!(
        check.success() && check.stdout.contains(&sha(&second)),
        "{}\n{}",
        check.stdout,
        check.stderr
    );
    assert_unchanged(&state, &before, &check);

    server.set_up(false);
    restart_from_cache(&mut agent, &sha(&first));
}

#[test]
fn a_check_of_a_file_directory_source_writes_nothing() {
    require_root!();
    let work = WorkDir::new("check-file-dir");
    let policy = work.subdir("policy", 0o755);
    let first = bundle("jerry").to_yaml();
    work.write("policy/10-roles.yaml", &first, 0o644);
    let source = format!("file://{}", policy.display());
    let (mut agent, state) = start_agent(&work, &source, "");
    wait_revision(&agent, &sha(&first));
    agent.stop();
    let before = snapshot(&state);
    assert!(before.contains_key("last-known-good.json"), "{before:?}");

    work.write("policy/10-roles.yaml", &bundle("tom").to_yaml(), 0o644);
    let check = check_with_source(&agent, &work, &source, &source);
    assert!(check.success(), "{}\n{}", check.stdout, check.stderr);
    assert_unchanged(&state, &before, &check);
    work.write("policy/10-roles.yaml", "kind: role\n  spec: [\n", 0o644);
    let check = check_with_source(&agent, &work, &source, &source);
    assert_eq!(check.code, Some(1), "{}\n{}", check.stdout, check.stderr);
    assert_unchanged(&state, &before, &check);

    restart_from_cache(&mut agent, &sha(&first));
}

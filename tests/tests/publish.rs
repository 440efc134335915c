//! `mfactl publish`, the real binary: tctl's `--with-secrets` output in, a
//! signed directory out. The files and the manifest; the signature verified
//! with the public line it prints; no secret of the input (its bytes, base64
//! or hex) in any published file; the serial only grows; the last five
//! bundles kept; a concurrent reader never sees a manifest whose bundle is
//! missing or differs; a refused input keeps the previous set; `--interval`
//! until SIGTERM; standard input, a directory, `--devices`, and `--tctl` with
//! a tctl script on PATH.

#[path = "publish/tctl_runs.rs"]
mod tctl_runs;
#[path = "publish/world.rs"]
mod world;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mfa_agent::sync::parse_signing_key;
use mfa_agent::web_assets::WEB_FILES;
use pam_mfa_e2e::bins::{self};
use pam_mfa_e2e::process::{run_checked, wait_until};
use world::*;

#[test]
fn publishes_a_signed_set_that_holds_no_secret_of_its_input() {
    let s = setup("publish-files");
    let f = s.publish_ok(&strs(
        &[s.input_args(), vec!["--valid-for".into(), "2h".into()]].concat(),
    ));
    let key = printed_key(&f);
    let (m, bundle) = read_verified(&s.out, &key);
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(raw["format"], "pam-mfa-manifest/1");
    assert_eq!(
        m.source, "example.teleport.sh",
        "the cluster's name by default"
    );
    let lifetime = m.expires_at.duration_since(m.issued_at).unwrap();
    assert_eq!(lifetime, Duration::from_secs(7200));
    assert_eq!(m.bundle.path, format!("bundles/{}.json", m.bundle.sha256));
    assert!(
        f.stdout.contains(&format!("published serial {}", m.serial)),
        "{}",
        f.stdout
    );
    // The agent's own check accepts the published bundle.
    let check = run_checked(
        Command::new(bins::mfactl())
            .arg("check")
            .arg(s.out.join(&m.bundle.path)),
    );
    assert!(check.contains("2 roles, 2 users, 1 locks"), "{check}");
    // One resource per line, public WebAuthn parts kept.
    let text = String::from_utf8(bundle).unwrap();
    assert_eq!(text.lines().count(), 8 + 2, "{text}");
    assert!(text.contains("\"credentialId\":") && text.contains("\"publicKeyCbor\":"));
    // No secret, in any form, in any file.
    let files = files_under(&s.out);
    assert_eq!(files.len(), 3 + WEB_FILES.len(), "{:?}", files.keys());
    // The approval page beside the bundle, as the binary carries it.
    for (name, bytes) in WEB_FILES {
        assert_eq!(files[&format!("web/{name}")], *bytes, "web/{name}");
    }
    use std::os::unix::fs::PermissionsExt as _;
    for (rel, want) in [
        ("", 0o755),
        ("bundles", 0o755),
        ("manifest.json", 0o644),
        ("manifest.json.sig", 0o644),
        (m.bundle.path.as_str(), 0o644),
        ("web", 0o755),
        ("web/index.html", 0o644),
    ] {
        let mode = std::fs::metadata(s.out.join(rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, want, "{rel:?} under umask 077");
    }
    let input = std::fs::read(&s.input).unwrap();
    let forms = secret_forms();
    for (name, form) in &forms {
        for (file, bytes) in &files {
            assert!(!contains(bytes, form), "{name} is in {file}");
        }
        // The fixture does carry the secret (in one of its forms).
        let secret = name.rsplit_once(" (").unwrap().0;
        assert!(
            forms
                .iter()
                .any(|(n, f)| n.starts_with(&format!("{secret} (")) && contains(&input, f)),
            "{secret} is not in the fixture"
        );
    }
}

#[test]
fn the_serial_grows_and_the_last_five_bundles_stay() {
    let s = setup("publish-serial");
    let mut serials = Vec::new();
    let mut key = None;
    for n in 0..7 {
        s.write_input_variant(n);
        let f = s.publish_ok(&strs(&s.input_args()));
        let k = *key.get_or_insert_with(|| printed_key(&f));
        serials.push(read_verified(&s.out, &k).0.serial);
    }
    assert!(serials.windows(2).all(|w| w[1] > w[0]), "{serials:?}");
    let bundles = std::fs::read_dir(s.out.join("bundles")).unwrap().count();
    assert_eq!(bundles, 5);
    // The same input again: the same bundle file, a newer serial.
    let before = read_verified(&s.out, &key.unwrap()).0;
    s.publish_ok(&strs(&s.input_args()));
    let after = read_verified(&s.out, &key.unwrap()).0;
    assert_eq!(after.bundle, before.bundle);
    assert!(after.serial > before.serial);
}

#[test]
fn a_refused_input_keeps_the_previous_set() {
    let s = setup("publish-refused");
    s.publish_ok(&strs(&s.input_args()));
    let before = files_under(&s.out);
    // A role Teleport itself refuses: the agent's loader says where.
    std::fs::write(&s.input, fixture().replace("    - ubuntu\n", "    - '*'\n")).unwrap();
    let f = s.publish(&strs(&s.input_args()));
    assert!(!f.success());
    let place = format!("{}:58:7:", s.input.display());
    assert!(f.stderr.contains(&place), "{}", f.stderr);
    assert!(
        f.stderr
            .contains("wildcard matcher is not allowed in logins"),
        "{}",
        f.stderr
    );
    assert_eq!(files_under(&s.out), before);
    // An unknown field that carries a private key: refused by name and path.
    let leaky = fixture().replace(
        "  future_teleport_field:\n    enabled: true\n",
        "  future_teleport_field:\n    backup: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JR0hBZ0VBTUJNR0J5cUdTTTQ5QWdFR0NDcUdTTTQ5\n",
    );
    std::fs::write(&s.input, leaky).unwrap();
    let f = s.publish(&strs(&s.input_args()));
    assert!(!f.success());
    assert!(
        f.stderr.contains("role \"prod-access\": field spec.future_teleport_field.backup holds what looks like key material (a long base64 string)"),
        "{}",
        f.stderr
    );
    assert!(
        !f.stderr.contains("LS0tLS1CRUdJTi"),
        "the error repeats the secret"
    );
    assert_eq!(files_under(&s.out), before);
    // An export without the cap (`tctl get role,user`): refused, saying
    // how to fetch it.
    let whole = fixture();
    let (_, without_cap) = whole.split_once("\n---\n").unwrap();
    std::fs::write(&s.input, without_cap).unwrap();
    let f = s.publish(&strs(&s.input_args()));
    assert!(!f.success());
    assert!(
        f.stderr
            .contains("no cluster_auth_preference (cap) in the input")
            && f.stderr.contains("tctl get cap --format=yaml"),
        "{}",
        f.stderr
    );
    assert_eq!(files_under(&s.out), before);
}

#[test]
fn a_concurrent_reader_never_sees_a_broken_set() {
    let s = setup("publish-atomic");
    let f = s.publish_ok(&strs(&s.input_args()));
    let key = printed_key(&f);
    let stop = Arc::new(AtomicBool::new(false));
    let published = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (stop, published, out) = (Arc::clone(&stop), Arc::clone(&published), s.out.clone());
        std::thread::spawn(move || {
            let (mut serials, mut reads, mut sig_races) = (BTreeSet::new(), 0u64, 0u64);
            while !stop.load(Ordering::SeqCst) {
                let (serial, sig_race) = read_once(&out, &key, &published)?;
                serials.insert(serial);
                reads += 1;
                sig_races += u64::from(sig_race);
            }
            Ok::<_, String>((serials.len(), reads, sig_races))
        })
    };
    for n in 0..25 {
        s.write_input_variant(n);
        s.publish_ok(&strs(&s.input_args()));
        published.fetch_add(1, Ordering::SeqCst);
    }
    stop.store(true, Ordering::SeqCst);
    let (serials, reads, sig_races) = reader.join().unwrap().expect("the reader saw a broken set");
    assert!(
        serials >= 5,
        "the reader saw only {serials} publications: it did not run alongside"
    );
    eprintln!("{reads} reads of {serials} publications, {sig_races} caught between signature and manifest");
    read_verified(&s.out, &key);
}

/// `--interval 1s`: at least two publications; then a refused input fails
/// rounds (logged) without touching the set; then a good input publishes
/// again; SIGTERM ends it with status 0.
#[test]
fn interval_publishes_until_sigterm() {
    let s = setup("publish-interval");
    let stdout_path = s.work.join("stdout");
    let stderr_path = s.work.join("stderr");
    let mut child = Command::new(bins::mfactl())
        .arg("publish")
        .args(s.input_args())
        .arg("--out")
        .arg(&s.out)
        .arg("--signing-key")
        .arg(&s.key)
        .args(["--interval", "1s"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let failures = || {
        std::fs::read_to_string(&stderr_path)
            .unwrap_or_default()
            .matches("this round failed, the published set is unchanged")
            .count()
    };
    let mut serials = BTreeSet::new();
    let twice = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        serials.extend(current_serial(&s.out));
        serials.len() >= 2
    });
    // A refused input: two failed rounds, and nothing published between them.
    std::fs::write(&s.input, fixture().replace("    - ubuntu\n", "    - '*'\n")).unwrap();
    let failed_once = wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
        failures() >= 1
    });
    let during = std::fs::read(s.out.join("manifest.json")).unwrap();
    let failed_twice = wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
        failures() >= 2
    });
    let after = std::fs::read(s.out.join("manifest.json")).unwrap();
    // A good input again: a newer serial.
    let last = *serials.iter().max().unwrap_or(&0);
    s.write_input_variant(1);
    let resumed = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        current_serial(&s.out).is_some_and(|n| n > last)
    });
    // SAFETY: kill on our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let ended = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !ended {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    let stdout = std::fs::read_to_string(&stdout_path).unwrap();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(twice, "published {} serials: {serials:?}", serials.len());
    assert!(
        failed_once && failed_twice,
        "no failed rounds logged: {stderr}"
    );
    assert_eq!(during, after, "a failed round changed the published set");
    assert!(
        resumed,
        "no publication after the input was good again: {stdout}{stderr}"
    );
    assert!(ended, "still running 10 s after SIGTERM");
    assert!(status.success(), "{status}: {stderr}");
    assert!(stdout.matches("published serial").count() >= 3, "{stdout}");
    assert!(stdout.trim_end().ends_with("stopped"), "{stdout}");
}

#[test]
fn reads_standard_input_a_directory_and_devices() {
    let s = setup("publish-inputs");
    // Standard input.
    let mut cmd = Command::new(bins::mfactl());
    cmd.arg("publish")
        .args(["--from", "-", "--source-name", "prod", "--out"])
        .arg(&s.out)
        .arg("--signing-key")
        .arg(&s.key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(fixture().as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let key =
        parse_signing_key(&std::fs::read_to_string(s.key.with_extension("pub")).unwrap()).unwrap();
    let (from_stdin, bundle_stdin) = read_verified(&s.out, &key);
    assert_eq!(from_stdin.source, "prod");
    // A directory of tctl outputs and a devices directory.
    let dir = s.work.subdir("tctl-out", 0o700);
    let text = fixture();
    let (first, second) = text.split_at(text.find("kind: user").unwrap());
    std::fs::write(dir.join("10-roles.yaml"), first).unwrap();
    std::fs::write(dir.join("20-users.yaml"), second).unwrap();
    let devices = s.work.subdir("devices", 0o700);
    std::fs::write(
        devices.join("alice-sk.yaml"),
        "kind: mfa_device\nversion: v1\nmetadata: {name: alice-sk}\nspec:\n  user: alice\n  ssh_sk:\n    public_key: \"sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIJjjgpTmYHsfLkSHJZmAB8qfgNqP4kQu6GCvSrmGtB0BAAAABHNzaDo= alice@laptop\"\n",
    )
    .unwrap();
    let dir_s = dir.display().to_string();
    let dev_s = devices.display().to_string();
    s.publish_ok(&["--from", &dir_s, "--source-name", "prod"]);
    let (from_dir, bundle_dir) = read_verified(&s.out, &key);
    assert_eq!(
        bundle_dir, bundle_stdin,
        "the same resources, the same bundle"
    );
    assert!(from_dir.serial > from_stdin.serial);
    s.publish_ok(&[
        "--from",
        &dir_s,
        "--devices",
        &dev_s,
        "--source-name",
        "prod",
    ]);
    let (_, with_device) = read_verified(&s.out, &key);
    let text = String::from_utf8(with_device).unwrap();
    assert!(text.contains("\"name\":\"alice-sk\""), "{text}");
}

/// `--from` a lock that names its join token as `join_token_sha256` (64
/// hex digits, which look like a raw key but are the form the agent reads):
/// published as it is.
#[test]
fn publishes_a_lock_given_as_its_join_token_sha256() {
    let s = setup("publish-join-token-sha256");
    let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let lock = format!(
        "\n---\nkind: lock\nversion: v2\nmetadata: {{name: hold-ci}}\nspec:\n  target: {{join_token_sha256: {hash}}}\n"
    );
    std::fs::write(&s.input, fixture() + &lock).unwrap();
    let f = s.publish_ok(&strs(&s.input_args()));
    let (_, bundle) = read_verified(&s.out, &printed_key(&f));
    let text = String::from_utf8(bundle).unwrap();
    assert!(
        text.contains(&format!("\"join_token_sha256\":\"{hash}\"")),
        "{text}"
    );
}

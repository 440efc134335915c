//! `mfactl doctor` against real `sshd -T` and PAM files: the shipped drop-in
//! and pam.d examples pass, and each deliberately broken sshd setting (the
//! first being Debian's own PermitRootLogin default, which aborts root) is
//! found with its fix. Every finding's id has its own broken host in the
//! unit tests (agent/src/ctl/doctor/tests.rs).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[path = "doctor/match_blocks.rs"]
mod match_blocks;
#[path = "doctor/pam_sockets.rs"]
mod pam_sockets;
#[path = "doctor/policy_logins.rs"]
mod policy_logins;

use pam_mfa_e2e::bins::{self, workspace_root};
use pam_mfa_e2e::process::run_with_timeout;
use pam_mfa_e2e::workdir::WorkDir;
use serde_json::Value;

/// Runs `script` (sh -euc) in a private mount namespace, so that what it
/// mounts (a tmpfs on /run, test files over /etc/ssh) stays in it.
fn in_private_mounts(script: &str) -> pam_mfa_e2e::process::Finished {
    run_with_timeout(
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-euc"])
            .arg(script),
        Duration::from_secs(60),
    )
}

/// Runs doctor (as JSON) on a main sshd_config holding `drop_in`, the
/// example pam.d, and config/agent.yaml, in a private /run (sshd -T wants
/// /run/sshd). Returns (exit code, findings).
fn doctor(work: &WorkDir, drop_in: &str) -> (Option<i32>, Vec<Value>) {
    doctor_after(work, "", drop_in)
}

/// As [`doctor`], with `earlier` as sshd_config.d/50-cloud-init.conf,
/// which sorts before the drop-in, when not empty.
fn doctor_after(work: &WorkDir, earlier: &str, drop_in: &str) -> (Option<i32>, Vec<Value>) {
    doctor_on(
        work,
        drop_in,
        &Host {
            earlier,
            ..Host::default()
        },
    )
}

/// What a doctor run is given besides the drop-in.
#[derive(Default)]
struct Host<'a> {
    /// sshd_config.d/50-cloud-init.conf, which sorts before the drop-in
    /// (none when empty).
    earlier: &'a str,
    /// agent.yaml (config/agent.yaml when None).
    config: Option<&'a Path>,
    /// The agent's socket (when None, one where no agent answers).
    socket: Option<&'a Path>,
    /// Shell commands run first in doctor's private mount namespace (bind
    /// mounts over /etc files).
    setup: &'a str,
    /// The PAM directory (config/pam.d, the shipped examples, when None).
    pam_dir: Option<&'a Path>,
}

/// Runs doctor on `host`'s sshd and agent.yaml; (exit code, findings).
fn doctor_on(work: &WorkDir, drop_in: &str, host: &Host) -> (Option<i32>, Vec<Value>) {
    let earlier = host.earlier;
    let host_key = work.join("host_key");
    if !host_key.exists() {
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&host_key)
            .status()
            .expect("ssh-keygen");
        assert!(st.success());
    }
    // Laid out as Debian's: sshd_config includes sshd_config.d/*.conf,
    // where the drop-in is found beside the main file.
    std::fs::create_dir_all(work.join("sshd_config.d")).expect("sshd_config.d");
    let d = work.write("sshd_config.d/pam-mfa.conf", drop_in, 0o644);
    let e = work.join("sshd_config.d/50-cloud-init.conf");
    if earlier.is_empty() {
        let _ = std::fs::remove_file(&e);
    } else {
        work.write("sshd_config.d/50-cloud-init.conf", earlier, 0o644);
    }
    let main = work.write(
        "sshd_config",
        &format!(
            "Include {}/*.conf\nHostKey {}\nPidFile none\n",
            d.parent().unwrap().display(),
            host_key.display()
        ),
        0o644,
    );
    let root = workspace_root();
    let config = host
        .config
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.join("config/agent.yaml"));
    let script = format!(
        "mount -t tmpfs -o mode=755 tmpfs /run && mkdir /run/sshd && {setup} exec {mfactl} --socket {sock} doctor --json --sshd-config {main} --pam-dir {pam} --config {cfg}",
        setup = host.setup,
        mfactl = bins::mfactl().display(),
        sock = host
            .socket
            .map(Path::to_path_buf)
            .unwrap_or_else(|| work.join("no-agent.sock"))
            .display(),
        main = main.display(),
        pam = host
            .pam_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| root.join("config/pam.d"))
            .display(),
        cfg = config.display(),
    );
    let out = in_private_mounts(&script);
    let v: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("doctor --json: {e}\n{out:?}"));
    (
        out.code,
        v["findings"].as_array().cloned().unwrap_or_default(),
    )
}

fn ids(findings: &[Value]) -> Vec<String> {
    findings
        .iter()
        .map(|f| f["id"].as_str().unwrap_or("").to_string())
        .collect()
}

fn shipped_drop_in() -> String {
    std::fs::read_to_string(workspace_root().join("config/sshd_config.d/pam-mfa.conf"))
        .expect("the drop-in")
}

fn without_line(text: &str, starts: &str) -> String {
    assert!(text.lines().any(|l| l.starts_with(starts)), "{starts}");
    text.lines()
        .filter(|l| !l.starts_with(starts))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn the_shipped_examples_have_no_sshd_or_pam_findings_and_each_broken_setting_is_found() {
    pam_mfa_e2e::require_root!();
    assert!(Path::new(bins::SSHD).exists(), "sshd is needed");
    let work = WorkDir::new("doctor");
    let (code, found) = doctor(&work, &shipped_drop_in());
    // The drop-in runs /usr/bin/mfactl: where it is not installed (a build
    // host), that is the one sshd finding, and a true one.
    let installed = Path::new("/usr/bin/mfactl").exists();
    assert_eq!(
        ids(&found).contains(&"sshd.authorized_keys_command_path".to_string()),
        !installed,
        "{found:#?}"
    );
    let bad: Vec<String> = ids(&found)
        .into_iter()
        .filter(|id| id.starts_with("sshd.") || id.starts_with("pam."))
        .filter(|id| id != "sshd.authorized_keys_command_path")
        .collect();
    assert_eq!(bad, Vec::<String>::new(), "{found:#?}");
    // No agent answers on the test's socket: an error, exit 2.
    assert!(ids(&found).contains(&"agent.not_running".to_string()));
    assert_eq!(code, Some(2));

    // Debian's default for root (no PermitRootLogin line: prohibit-password).
    let (_, found) = doctor(&work, &without_line(&shipped_drop_in(), "PermitRootLogin"));
    let f = found
        .iter()
        .find(|f| f["id"] == "sshd.permit_root_login")
        .unwrap_or_else(|| panic!("not found: {found:#?}"));
    assert_eq!(f["severity"], "error");
    assert!(f["why"].as_str().unwrap().contains("aborts"), "{f}");
    assert!(
        f["fix"].as_str().unwrap().contains("PermitRootLogin yes"),
        "{f}"
    );

    for (line, broken, id) in [
        ("UsePAM", "UsePAM no", "sshd.use_pam"),
        // sshd -T itself refuses this one: the methods cannot be satisfied.
        (
            "KbdInteractiveAuthentication",
            "KbdInteractiveAuthentication no",
            "sshd.unreadable",
        ),
        (
            "AuthenticationMethods",
            "AuthenticationMethods any",
            "sshd.authentication_methods",
        ),
        (
            "ExposeAuthInfo",
            "ExposeAuthInfo no",
            "sshd.expose_auth_info",
        ),
        (
            "AuthorizedKeysCommand ",
            "AuthorizedKeysCommand none",
            "sshd.authorized_keys_command",
        ),
        (
            "AuthorizedKeysCommandUser",
            "AuthorizedKeysCommandUser sshd",
            "sshd.authorized_keys_command_user",
        ),
        (
            "PubkeyAuthOptions",
            "PubkeyAuthOptions none",
            "sshd.pubkey_auth_options",
        ),
    ] {
        let text = format!("{broken}\n{}", without_line(&shipped_drop_in(), line));
        let (code, found) = doctor(&work, &text);
        assert!(
            ids(&found).contains(&id.to_string()),
            "with {broken}: {found:#?}"
        );
        assert_eq!(code, Some(2), "with {broken}");
    }
}

/// A cloud image's 50-cloud-init.conf read before pam-mfa.conf wins over
/// it (sshd keeps the first value): the fix names that file, not the
/// drop-in that already has the right line.
#[test]
fn an_earlier_drop_in_that_wins_is_named_in_the_fix() {
    pam_mfa_e2e::require_root!();
    let work = WorkDir::new("doctor-earlier");
    let (_, found) = doctor_after(
        &work,
        "PermitRootLogin prohibit-password\nExposeAuthInfo no\n",
        &shipped_drop_in(),
    );
    let earlier = work
        .join("sshd_config.d/50-cloud-init.conf")
        .display()
        .to_string();
    for (id, set) in [
        (
            "sshd.permit_root_login",
            "PermitRootLogin prohibit-password",
        ),
        ("sshd.expose_auth_info", "ExposeAuthInfo no"),
    ] {
        let f = found
            .iter()
            .find(|f| f["id"] == id)
            .unwrap_or_else(|| panic!("{id} not found: {found:#?}"));
        let fix = f["fix"].as_str().unwrap();
        assert!(fix.starts_with(&format!("{earlier}:")), "{id}: {fix}");
        assert!(fix.contains(&format!("sets `{set}`")), "{id}: {fix}");
    }
}

/// `mfactl check agent.yaml` on a host whose sshd (a private /etc/ssh)
/// has the `settings` lines: the warnings it prints, but node.id's.
fn check_warnings(work: &WorkDir, settings: &str) -> String {
    // A directory per call: ssh-keygen would ask before overwriting a key.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let etc_ssh = work.subdir(&format!("etc-ssh-{n}"), 0o755);
    let key = etc_ssh.join("host_key");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(st.success());
    std::fs::write(
        etc_ssh.join("sshd_config"),
        format!("HostKey {}\n{settings}", key.display()),
    )
    .unwrap();
    let script = format!(
        "mount -t tmpfs -o mode=755 tmpfs /run && mkdir /run/sshd && mount --bind {etc} /etc/ssh && exec {mfactl} check {cfg}",
        etc = etc_ssh.display(),
        mfactl = bins::mfactl().display(),
        cfg = workspace_root().join("config/agent.yaml").display(),
    );
    let out = in_private_mounts(&script);
    assert_eq!(out.code, Some(0), "{out:?}");
    // config/agent.yaml leaves node.id to Teleport's host_uuid file: whether
    // that is warned of depends on this host running Teleport, not on sshd.
    out.stderr
        .lines()
        .filter(|l| !l.starts_with("warning: node.id is unset ("))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn check_warns_when_agent_yaml_credits_what_sshd_does_not_enforce() {
    pam_mfa_e2e::require_root!();
    let work = WorkDir::new("doctor-check");
    // config/agent.yaml says touch-required, and sshd's default files.
    assert_eq!(
        check_warnings(&work, "PubkeyAuthOptions touch-required\n"),
        ""
    );
    let warned = check_warnings(&work, "PubkeyAuthOptions none\n");
    assert!(
        warned.contains("warning:")
            && warned.contains("touch-required")
            && warned.contains("PubkeyAuthOptions"),
        "{warned}"
    );
}

/// `mfactl check` also says when sshd reads other authorized_keys files
/// than the agent.yaml credits a key's touch from.
#[test]
fn check_warns_when_sshd_reads_other_authorized_keys_files() {
    pam_mfa_e2e::require_root!();
    let work = WorkDir::new("doctor-check-akf");
    let warned = check_warnings(
        &work,
        "PubkeyAuthOptions touch-required\nAuthorizedKeysFile .ssh/authorized_keys /etc/ssh/keys/%u\n",
    );
    assert!(
        warned.contains("warning:")
            && warned.contains("AuthorizedKeysFile")
            && warned.contains("/etc/ssh/keys/%u"),
        "{warned}"
    );
}

/// sshd and the agent must read the same authorized_keys files, and no
/// Match block may change PubkeyAuthOptions or AuthorizedKeysFile for some
/// connections (sshd -T does not show it): each is an error, exit 2, found
/// in the real sshd's view and in the Include'd drop-in.
#[test]
fn authorized_keys_files_and_match_blocks_sshd_and_the_agent_disagree_on() {
    pam_mfa_e2e::require_root!();
    assert!(Path::new(bins::SSHD).exists(), "sshd is needed");
    let work = WorkDir::new("doctor-keys");
    let finding = |drop_in: &str, id: &str| {
        let (code, found) = doctor(&work, drop_in);
        assert_eq!(code, Some(2), "{found:#?}");
        found
            .into_iter()
            .find(|f| f["id"] == id)
            .unwrap_or_else(|| panic!("no {id} with {drop_in}"))
    };
    // config/agent.yaml reads .ssh/authorized_keys and .ssh/authorized_keys2.
    let central = format!(
        "AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys2 /etc/ssh/keys/%u\n{}",
        shipped_drop_in()
    );
    let f = finding(&central, "sshd.authorized_keys_file");
    assert_eq!(f["severity"], "error");
    assert!(
        f["what"].as_str().unwrap().contains("/etc/ssh/keys/%u"),
        "{f}"
    );

    let drop_in = work.join("sshd_config.d/pam-mfa.conf");
    for (block, line) in [
        (
            "Match User bob\n  PubkeyAuthOptions none\n",
            "PubkeyAuthOptions none",
        ),
        (
            "Match Address 10.1.0.0/16\n  AuthorizedKeysFile /srv/keys/%u\n",
            "AuthorizedKeysFile /srv/keys/%u",
        ),
    ] {
        let text = format!("{}{block}", shipped_drop_in());
        let f = finding(&text, "sshd.match_key_settings");
        let what = f["what"].as_str().unwrap();
        let at = format!("{}:{}", drop_in.display(), text.lines().count());
        assert!(what.contains(&at) && what.contains(line), "{what}");
        assert!(
            f["fix"]
                .as_str()
                .unwrap()
                .contains("before any Match block"),
            "{f}"
        );
    }
}

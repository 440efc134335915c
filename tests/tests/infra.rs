//! Proves the end-to-end infrastructure with stock Linux-PAM modules and OpenSSH,
//! independently of pam-mfa's own binaries.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::pam_stack::{HarnessRun, PamStack};
use pam_mfa_e2e::ssh::SshLogin;
use pam_mfa_e2e::sshd::{sk_flags_in_log, Sshd, SshdOptions, SK_USER_PRESENT};
use pam_mfa_e2e::syslog::SyslogCapture;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

const PERMIT_ALL: &str =
    "auth required pam_permit.so\naccount required pam_permit.so\nsession required pam_permit.so\n";
const DENY_AUTH: &str =
    "auth required pam_deny.so\naccount required pam_permit.so\nsession required pam_permit.so\n";

#[test]
fn harness_pam_permit_succeeds() {
    require_root!();
    let work = WorkDir::new("harness-permit");
    let stack = PamStack::new(
        &work,
        &unique_name("svc-"),
        "auth required pam_permit.so\naccount required pam_permit.so\n",
    );
    let out = stack.run(&HarnessRun::new("nobody", "auth+account"));
    assert_eq!(out.exit_code(), Some(0), "{}", out.describe());
    assert_eq!(out.result("auth"), "PAM_SUCCESS", "{}", out.describe());
    assert_eq!(out.result("account"), "PAM_SUCCESS", "{}", out.describe());
}

#[test]
fn harness_pam_deny_fails() {
    require_root!();
    let work = WorkDir::new("harness-deny");
    let stack = PamStack::new(&work, &unique_name("svc-"), "auth required pam_deny.so\n");
    let out = stack.run(&HarnessRun::new("nobody", "auth+account"));
    assert_eq!(out.exit_code(), Some(1), "{}", out.describe());
    assert_eq!(out.result("auth"), "PAM_AUTH_ERR", "{}", out.describe());
    assert_eq!(out.result("account"), "not-run", "{}", out.describe());
}

#[test]
fn harness_relays_info_prompts_and_env() {
    require_root!();
    let work = WorkDir::new("harness-conv");
    let script = work.write(
        "check.sh",
        "#!/bin/sh\nread secret\necho \"pam_exec sees FOO=$FOO user=$PAM_USER rhost=$PAM_RHOST\"\n[ \"$secret\" = open-sesame ]\n",
        0o755,
    );
    let text = format!(
        "auth optional pam_echo.so hello from pam_echo to %u\n\
auth required pam_exec.so expose_authtok stdout {}\n",
        script.display()
    );
    let stack = PamStack::new(&work, &unique_name("svc-"), &text);
    let mut run = HarnessRun::new("nobody", "auth");
    run.env = vec!["FOO=bar".into()];
    run.rhost = Some("192.0.2.7".into());
    run.answers = vec!["open-sesame".into()];
    let out = stack.run(&run);
    assert_eq!(out.exit_code(), Some(0), "{}", out.describe());
    assert!(
        out.infos
            .iter()
            .any(|l| l == "hello from pam_echo to nobody"),
        "{}",
        out.describe()
    );
    assert!(
        out.infos
            .iter()
            .any(|l| l == "pam_exec sees FOO=bar user=nobody rhost=192.0.2.7"),
        "{}",
        out.describe()
    );
    assert_eq!(out.prompts.len(), 1, "{}", out.describe());
    assert!(
        out.prompts[0].starts_with("PROMPT(echo_off): "),
        "{}",
        out.describe()
    );

    // A wrong answer fails; no answer at all is a conversation error.
    run.answers = vec!["wrong".into()];
    let out = stack.run(&run);
    assert_eq!(out.exit_code(), Some(1), "{}", out.describe());
    // pam_exec reports a failing command as PAM_SYSTEM_ERR.
    assert_ne!(out.result("auth"), "PAM_SUCCESS", "{}", out.describe());
    run.answers.clear();
    let out = stack.run(&run);
    assert_eq!(out.exit_code(), Some(1), "{}", out.describe());
    assert_ne!(out.result("auth"), "PAM_SUCCESS", "{}", out.describe());
    assert!(
        out.finished.stdout.contains("CONV: no answer left"),
        "{}",
        out.describe()
    );
}

#[test]
fn harness_misuse_exits_2() {
    require_root!();
    let bin = pam_mfa_e2e::bins::pam_harness();
    let f = pam_mfa_e2e::process::run_with_timeout(
        std::process::Command::new(bin).args(["--service", "x"]),
        std::time::Duration::from_secs(10),
    );
    assert_eq!(f.code, Some(2), "{f:?}");
}

#[test]
fn sshd_plain_key_with_pam_permit_logs_in() {
    require_root!();
    let work = WorkDir::new("sshd-permit");
    let user = TestUser::create();
    let key = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    user.authorize_keys(&[&key.public_line]);
    let sshd = Sshd::start(&work, &SshdOptions::new(PERMIT_ALL));
    let out = SshLogin::new(sshd.port, &user.name, &key).run(&work, "id -un");
    assert!(
        out.success(),
        "{}\n--- sshd log\n{}",
        out.describe(),
        sshd.log()
    );
    assert_eq!(out.stdout().trim(), user.name);
    let log = sshd.log();
    assert!(
        log.contains(&format!("Partial publickey for {}", user.name)),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "Accepted keyboard-interactive/pam for {}",
            user.name
        )),
        "{log}"
    );
    // The PAM service really is the unique one.
    assert!(
        log.contains(&format!("PAM: initializing for \"{}\"", user.name)),
        "{log}"
    );
}

#[test]
fn sshd_pam_deny_refuses() {
    require_root!();
    let work = WorkDir::new("sshd-deny");
    let user = TestUser::create();
    let key = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    user.authorize_keys(&[&key.public_line]);
    let mut sshd = Sshd::start(&work, &SshdOptions::new(DENY_AUTH));
    let out = SshLogin::new(sshd.port, &user.name, &key).run(&work, "id -un");
    assert_eq!(
        out.exit_code(),
        Some(255),
        "{}\n--- sshd log\n{}",
        out.describe(),
        sshd.log()
    );
    assert!(!out.stdout().contains(&user.name));
    assert!(
        out.stderr().contains("Permission denied"),
        "{}",
        out.describe()
    );
    // The stack is re-read per connection: switch to permit and log in.
    sshd.set_pam_stack(PERMIT_ALL);
    let out = SshLogin::new(sshd.port, &user.name, &key).run(&work, "id -un");
    assert!(
        out.success(),
        "{}\n--- sshd log\n{}",
        out.describe(),
        sshd.log()
    );
    assert!(sshd.is_running());
}

#[test]
fn sshd_sk_dummy_key_logs_in_and_sshd_logs_user_presence() {
    require_root!();
    let work = WorkDir::new("sshd-sk");
    let user = TestUser::create();
    let key = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    assert!(
        key.key_type().starts_with("sk-ssh-ed25519@openssh.com"),
        "{}",
        key.public_line
    );
    user.authorize_keys(&[&key.public_line]);
    let sshd = Sshd::start(&work, &SshdOptions::new(PERMIT_ALL));
    let out = SshLogin::new(sshd.port, &user.name, &key).run(&work, "id -un");
    let log = sshd.log();
    assert!(out.success(), "{}\n--- sshd log\n{log}", out.describe());
    assert_eq!(out.stdout().trim(), user.name);
    let flags = sk_flags_in_log(&log);
    assert!(
        flags.iter().any(|f| f & SK_USER_PRESENT != 0),
        "no sk_flags line with user presence in sshd's log:\n{log}"
    );
    // (The client also shows a "Confirm user presence" notice through askpass,
    // but kills it as soon as sk-dummy has signed, so it is not always logged.)
}

#[test]
fn sshd_verify_required_authorized_key_needs_a_uv_key() {
    require_root!();
    let work = WorkDir::new("sshd-sk-uv");
    let user = TestUser::create();
    let plain_sk = SshKey::generate(work.path(), "id_sk", KeyKind::EcdsaSk, false);
    let uv_sk = SshKey::generate(work.path(), "id_sk_uv", KeyKind::Ed25519Sk, true);
    user.authorize_keys(&[
        &format!("verify-required {}", plain_sk.public_line),
        &format!("verify-required {}", uv_sk.public_line),
    ]);
    let sshd = Sshd::start(&work, &SshdOptions::new(PERMIT_ALL));
    let out = SshLogin::new(sshd.port, &user.name, &plain_sk).run(&work, "id -un");
    assert_eq!(
        out.exit_code(),
        Some(255),
        "{}\n--- sshd log\n{}",
        out.describe(),
        sshd.log()
    );
    assert!(
        sshd.log().contains("user verification requirement not met"),
        "{}",
        sshd.log()
    );
    let out = SshLogin::new(sshd.port, &user.name, &uv_sk)
        .answer("1234")
        .run(&work, "id -un");
    let log = sshd.log();
    assert!(out.success(), "{}\n--- sshd log\n{log}", out.describe());
    assert!(
        sk_flags_in_log(&log).iter().any(|f| f & 0x05 == 0x05),
        "no sk_flags with UP|UV:\n{log}"
    );
}

#[test]
fn workdir_is_world_traversable_and_removed() {
    require_root!();
    let path = {
        let work = WorkDir::new("workdir");
        let mode = std::fs::metadata(work.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
        work.path().to_path_buf()
    };
    if std::env::var("PAM_MFA_KEEP").as_deref() != Ok("1") {
        assert!(!path.exists());
    }
}

#[test]
fn harness_syslog_capture_sees_pam_warn() {
    require_root!();
    let work = WorkDir::new("harness-syslog");
    let capture = SyslogCapture::start(&work);
    let stack = PamStack::new(
        &work,
        &unique_name("svc-"),
        "auth required pam_warn.so\nauth required pam_permit.so\n",
    );
    let out = stack.run(&HarnessRun::new("nobody", "auth").syslog_to(&capture));
    assert_eq!(out.exit_code(), Some(0), "{}", out.describe());
    let line = capture.wait_for("pam_warn", Duration::from_secs(5));
    assert!(
        line.is_some(),
        "nothing from pam_warn in {:?}",
        capture.lines()
    );
    assert!(line.unwrap().contains(&stack.service));
}

#[test]
fn sshd_syslog_capture_sees_pam_warn() {
    require_root!();
    let work = WorkDir::new("sshd-syslog");
    let capture = SyslogCapture::start(&work);
    let user = TestUser::create();
    let key = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    user.authorize_keys(&[&key.public_line]);
    let stack = format!("auth required pam_warn.so\n{PERMIT_ALL}");
    let sshd = Sshd::start(&work, &SshdOptions::new(&stack).syslog_to(&capture));
    let out = SshLogin::new(sshd.port, &user.name, &key).run(&work, "id -un");
    assert!(
        out.success(),
        "{}\n--- sshd log\n{}\n{}",
        out.describe(),
        sshd.log(),
        sshd.stderr()
    );
    let line = capture.wait_for("pam_warn", Duration::from_secs(5));
    assert!(
        line.is_some(),
        "nothing from pam_warn in {:?}",
        capture.lines()
    );
    assert!(line.unwrap().contains(&user.name));
}

#[test]
fn sshd_authorized_keys_command_runs_as_nobody_from_private_run() {
    require_root!();
    let work = WorkDir::new("sshd-akc");
    let user = TestUser::create();
    let key = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    // Not in authorized_keys: only the command serves it, from a file that
    // `nobody` reads through the world-traversable work dir.
    user.authorize_keys(&["# nothing here"]);
    let served = work.write("served-keys", &format!("{}\n", key.public_line), 0o644);
    let who = work.subdir("who", 0o777);
    let program = work.write(
        "e2e-keys",
        &format!(
            "#!/bin/sh\nid -un > {}/ran-as\n[ \"$1\" = \"{}\" ] && cat {}\nexit 0\n",
            who.display(),
            user.name,
            served.display()
        ),
        0o755,
    );
    let opts = SshdOptions::new(PERMIT_ALL).keys_command(&program, "%u");
    let sshd = Sshd::start(&work, &opts);
    let out = SshLogin::new(sshd.port, &user.name, &key).run(&work, "id -un");
    assert!(
        out.success(),
        "{}\n--- sshd log\n{}",
        out.describe(),
        sshd.log()
    );
    assert_eq!(
        std::fs::read_to_string(who.join("ran-as")).unwrap().trim(),
        "nobody"
    );
    assert!(sshd.log().contains("/run/t/e2e-keys"), "{}", sshd.log());
}

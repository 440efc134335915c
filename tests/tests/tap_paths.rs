//! The tap paths as the README writes them, through a real sshd and ssh
//! client: `SSH_ASKPASS=mfactl SSH_ASKPASS_REQUIRE=force ssh ...` with mfactl
//! found on PATH as `mfactl`, the touch cue naming what is approved, and a
//! replayed answer refused as already used.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::mfa_sshd::MfaSshd;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::ssh_agent::TestSshAgent;
use pam_mfa_e2e::sshd::Sshd;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;

/// Fields drop in order.
struct World {
    sshd: Sshd,
    agent: Agent,
    user: TestUser,
    /// The user's only authorized key: a plain one, so the login needs a tap.
    plain: SshKey,
    /// The registered security key, held by `ssh_agent`.
    ssh_agent: TestSshAgent,
    work: WorkDir,
}

fn world(label: &str) -> World {
    let work = WorkDir::new(label);
    let user = TestUser::create();
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    let registered = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    user.authorize_keys(&[plain.public_line.as_str()]);
    let MfaSshd { agent, sshd, .. } = MfaSshd::start(
        &work,
        AgentConfig::with_env("prod"),
        &bundle(&user.name, "false", "true", &[&registered]),
    );
    let ssh_agent = TestSshAgent::start(work.path(), None);
    ssh_agent.add(&registered, None);
    World {
        sshd,
        agent,
        user,
        plain,
        ssh_agent,
        work,
    }
}

impl World {
    fn evidence(&self, out: &SshOutcome) -> String {
        format!("{}\n{}", out.describe(), self.agent.evidence())
    }

    /// A directory holding `mfactl` (a link to the built one), for PATH.
    fn path_with_mfactl(&self) -> PathBuf {
        let dir = self.work.subdir("bin", 0o755);
        let link = dir.join("mfactl");
        if !link.exists() {
            std::os::unix::fs::symlink(bins::require(&bins::mfactl()), &link).unwrap();
        }
        dir
    }
}

fn path_env(first: &Path) -> String {
    let rest = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
    format!("{}:{rest}", first.display())
}

/// The first challenge an askpass transcript shows.
fn challenge_in(out: &SshOutcome) -> String {
    out.askpass
        .iter()
        .find_map(|p| mfa_agent::challenge::find_challenge(p))
        .unwrap_or_else(|| panic!("no challenge in {:?}", out.askpass))
        .text
}

#[test]
fn ssh_askpass_mfactl_as_the_readme_writes_it() {
    require_root!();
    let w = world("tap-literal");
    let bin = w.path_with_mfactl();
    // ssh runs SSH_ASKPASS through PATH with the prompt as its one argument.
    let mut login = SshLogin::new(w.sshd.port, &w.user.name, &w.plain);
    login.agent_socket = Some(w.ssh_agent.socket.clone());
    login.extra_env.extend([
        ("SSH_ASKPASS".to_string(), "mfactl".to_string()),
        ("SSH_ASKPASS_REQUIRE".to_string(), "force".to_string()),
        ("PATH".to_string(), path_env(&bin)),
    ]);
    let out = login.run(&w.work, "id -un");
    assert!(out.success(), "{}", w.evidence(&out));
    assert_eq!(out.stdout().trim(), w.user.name);
    assert!(
        !out.stderr().contains("unrecognized subcommand"),
        "{}",
        w.evidence(&out)
    );
    // mfactl has no terminal here: its cue goes to ssh's stderr.
    let cue = format!("Tap to log in to e2e-prod as {}", w.user.name);
    assert!(out.stderr().contains(&cue), "{}", w.evidence(&out));
    let auth = w
        .agent
        .audit_events()
        .into_iter()
        .find(|e| field(e, "login") == w.user.name && field(e, "hook") == "auth")
        .unwrap_or_else(|| panic!("{}", w.agent.audit_text()));
    assert_eq!(field(&auth, "evidence"), "tap_ssh_sk_touch", "{auth}");
}

#[test]
fn a_replayed_answer_is_refused_as_already_used() {
    require_root!();
    let w = world("tap-replay");
    // A login whose challenge gets an answer (a wrong one): used up.
    let first = SshLogin::new(w.sshd.port, &w.user.name, &w.plain)
        .answer("hello")
        .run(&w.work, "id -un");
    assert_eq!(first.exit_code(), Some(255), "{}", w.evidence(&first));
    let used = challenge_in(&first);
    // The registered key signs that challenge: a valid answer, for a
    // challenge that already had its answer.
    let prompt = format!("MFA challenge {used} answers=named answer: ");
    let tap = std::process::Command::new(bins::mfactl())
        .args(["tap", &prompt])
        .env("SSH_AUTH_SOCK", &w.ssh_agent.socket)
        .output()
        .unwrap();
    assert!(tap.status.success(), "{tap:?}");
    let answer = String::from_utf8(tap.stdout).unwrap().trim().to_string();
    assert!(
        answer.ends_with(&used),
        "the answer names its challenge: {answer}"
    );
    let replay = SshLogin::new(w.sshd.port, &w.user.name, &w.plain)
        .answer(&answer)
        .run(&w.work, "id -un");
    assert_eq!(replay.exit_code(), Some(255), "{}", w.evidence(&replay));
    assert!(
        replay.stderr().contains("already used"),
        "{}",
        w.evidence(&replay)
    );
    assert!(w.agent.audit_events().iter().any(|e| {
        field(e, "event") == "answer_refused" && field(e, "reason").contains("already used")
    }));
    // `mfactl tap CHALLENGE` by hand names nothing (an older agent would
    // refuse the extra word); the agent still finds the used challenge it
    // verifies over.
    let bare = std::process::Command::new(bins::mfactl())
        .args(["tap", &used])
        .env("SSH_AUTH_SOCK", &w.ssh_agent.socket)
        .output()
        .unwrap();
    assert!(bare.status.success(), "{bare:?}");
    let bare = String::from_utf8(bare.stdout).unwrap().trim().to_string();
    assert!(!bare.contains("pmfa1:"), "{bare}");
    let replay = SshLogin::new(w.sshd.port, &w.user.name, &w.plain)
        .answer(&bare)
        .run(&w.work, "id -un");
    assert_eq!(replay.exit_code(), Some(255), "{}", w.evidence(&replay));
    assert!(
        replay.stderr().contains("already used"),
        "{}",
        w.evidence(&replay)
    );
}

//! sshd's logins against the people around them (issue: budgets of
//! sshd's logins), through the agent binary and pam_mfa.so, with
//! pam-harness standing in for the PAM callers as the kernel shows them:
//! sshd is a root process (with the admin's login uid when it was started
//! from an admin's login session: by hand, or by an init script run
//! there); sudo run by a user keeps that user's real uid; root's own sudo
//! is a root process with no one behind it. Prompts are held open, as by
//! people who walked away from them.
//!
//! - sshd traced to an admin: one user holding 8 prompts with their own
//!   key leaves every other login its prompt, and the admin their sudo
//!   (neither the pending logins nor the connections are the admin's).
//! - 8 unanswered key-less SSH prompts to root leave root's own
//!   `sudo -u ACCOUNT` (NOPASSWD: the account stack only) its own budget:
//!   it is allowed.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::mfa_sshd::module_args;
use pam_mfa_e2e::pam_stack::{HarnessRun, PamStack};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

/// Held prompts, killed (by their own pid) when the test ends.
#[derive(Default)]
struct Held(Vec<Child>);

impl Drop for Held {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// How the stand-in runs: as the kernel shows sshd or sudo.
#[derive(Clone, Copy)]
enum Caller {
    /// A root process with this login uid (sshd from an admin's session).
    RootWithLoginUid(u32),
    /// A root process as its parent is (sshd started by init, root's sudo).
    Root,
    /// Real uid of the user, effective uid 0 (sudo run by that user).
    SudoOf(u32),
}

fn as_caller(cmd: &mut Command, caller: Caller) {
    // Formatted here: the child may not allocate between fork and exec
    // (another thread of this test binary may hold the allocator's lock).
    let login_uid_text: Option<Vec<u8>> = match caller {
        Caller::RootWithLoginUid(uid) => Some(uid.to_string().into_bytes()),
        Caller::Root | Caller::SudoOf(_) => None,
    };
    // SAFETY: the closure only calls open, write, close and setresuid
    // (async-signal-safe) on a NUL-terminated literal path and the bytes
    // formatted above; it allocates nothing and touches no other Rust
    // state, and an error it returns (`last_os_error`) allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(text) = &login_uid_text {
                write_login_uid(text)?;
            }
            if let Caller::SudoOf(uid) = caller {
                if libc::setresuid(uid, 0, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// Writes `text` (a uid's decimal digits) to /proc/self/loginuid with
/// open, write and close only: safe between fork and exec.
fn write_login_uid(text: &[u8]) -> std::io::Result<()> {
    // SAFETY: a NUL-terminated literal path; `text` outlives the write.
    unsafe {
        let fd = libc::open(c"/proc/self/loginuid".as_ptr(), libc::O_WRONLY);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let written = libc::write(fd, text.as_ptr().cast(), text.len());
        libc::close(fd);
        if written < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

struct World {
    work: WorkDir,
    agent: Agent,
    ssh: PamStack,
    sudo: PamStack,
    held: std::cell::RefCell<Held>,
}

/// ops-prod (env=prod, session MFA) allows `logins` to jerry, whose sk
/// key is registered: every login below reaches the tap prompt.
fn world(label: &str, logins: &[&str]) -> World {
    let work = WorkDir::new(label);
    let jerry = unique_name("jerry");
    let jerry_key = SshKey::generate(work.path(), "id_jerry", KeyKind::Ed25519Sk, false);
    let mut allowed = vec![jerry.as_str()];
    allowed.extend_from_slice(logins);
    let bundle = Bundle::new()
        .cap("false")
        .role("ops-prod", &[("env", "prod")], &allowed, Some("true"))
        .user(&jerry, &["ops-prod"], &[&jerry])
        .sk_device("jerry-sk", &jerry, &jerry_key.public_line);
    let ssh_service = unique_name("sshd-mfab");
    let sudo_service = unique_name("sudo-mfab");
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env("prod")
            .service(&ssh_service, "ssh")
            .service(&sudo_service, "admin"),
        &bundle,
    );
    let module = bins::pam_module();
    let text = format!(
        "auth required {m} {a}\naccount required {m} {a}\n",
        m = module.display(),
        a = module_args(&agent.socket, "")
    );
    World {
        ssh: PamStack::new(&work, &ssh_service, &text),
        sudo: PamStack::new(&work, &sudo_service, &text),
        work,
        agent,
        held: Default::default(),
    }
}

/// What sshd asks for a login to `user` that `key` authenticated (`None`:
/// keyboard-interactive alone).
fn sshd_login(user: &str, key: Option<&SshKey>) -> HarnessRun {
    let mut run = HarnessRun::new(user, "auth");
    run.rhost = Some("10.0.0.1".into());
    run.tty = Some("ssh".into());
    if let Some(k) = key {
        run.env = vec![format!("SSH_AUTH_INFO_0=publickey {}", k.type_and_blob())];
    }
    run
}

impl World {
    /// Starts `n` logins of `run` by `caller` that hold their prompt, and
    /// waits until they all do.
    fn hold(&self, stack: &PamStack, run: &HarnessRun, caller: Caller, n: usize) {
        let outputs: Vec<PathBuf> = (0..n)
            .map(|_| {
                self.work
                    .path()
                    .join(format!("{}.out", unique_name("held")))
            })
            .collect();
        for out in &outputs {
            let mut cmd = stack.command(run);
            cmd.args(["--hold-on-prompt", "120"])
                .stdin(Stdio::null())
                .stdout(File::create(out).unwrap())
                .stderr(Stdio::null());
            as_caller(&mut cmd, caller);
            self.held
                .borrow_mut()
                .0
                .push(cmd.spawn().expect("spawn pam-harness"));
        }
        let start = Instant::now();
        let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        while !outputs.iter().all(|p| read(p).contains("CONV: holding")) {
            let said: Vec<String> = outputs.iter().map(read).collect();
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the prompts were not all held: {said:#?}\n{}",
                self.agent.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One login of `run` by `caller`, answered wrongly at once: what the
    /// harness printed (a `PROMPT` line when the login got its prompt).
    fn try_login(&self, stack: &PamStack, run: &HarnessRun, caller: Caller) -> String {
        let mut run = run.clone();
        run.answers = vec!["not-an-answer".into()];
        let mut cmd = stack.command(&run);
        cmd.stdin(Stdio::null()).stderr(Stdio::null());
        as_caller(&mut cmd, caller);
        let out = cmd.output().expect("pam-harness");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn prompted(said: &str) -> bool {
    said.contains("PROMPT(") && !said.contains("too many")
}

/// Whether this machine lets root set a process's login uid.
fn login_uid_settable() -> bool {
    let mut cmd = Command::new("true");
    as_caller(&mut cmd, Caller::RootWithLoginUid(4242));
    cmd.status().is_ok_and(|s| s.success())
}

#[test]
fn sshd_started_from_an_admins_session_keeps_each_login_its_own_budget() {
    require_root!();
    if !login_uid_settable() {
        eprintln!("skipped: this machine does not let root set a login uid");
        return;
    }
    let (admin, bob, alice) = (TestUser::create(), TestUser::create(), TestUser::create());
    let w = world("sshd-budgets-traced", &[&bob.name, &alice.name]);
    let bob_key = SshKey::generate(w.work.path(), "id_bob", KeyKind::Ed25519, false);
    let alice_key = SshKey::generate(w.work.path(), "id_alice", KeyKind::Ed25519, false);
    let sshd = Caller::RootWithLoginUid(admin.uid);
    let ssh = &w.ssh;
    // bob leaves 8 prompts with his own key, alice 8 with hers: 16
    // connections of sshd, all traced to the admin.
    w.hold(ssh, &sshd_login(&bob.name, Some(&bob_key)), sshd, 8);
    w.hold(ssh, &sshd_login(&alice.name, Some(&alice_key)), sshd, 8);
    let said = w.try_login(ssh, &sshd_login(&bob.name, Some(&bob_key)), sshd);
    assert!(
        said.contains(&format!(
            "too many pending logins for {} with key SHA256:",
            bob.name
        )),
        "{said}\n{}",
        w.agent.log()
    );
    // Everyone else still gets their prompt: another key, a login with no
    // key, and the admin's own sudo.
    let carol_key = SshKey::generate(w.work.path(), "id_carol", KeyKind::Ed25519, false);
    for run in [
        sshd_login(&bob.name, Some(&carol_key)),
        sshd_login(&bob.name, None),
    ] {
        let said = w.try_login(ssh, &run, sshd);
        assert!(prompted(&said), "{said}\n{}", w.agent.log());
    }
    let mut admins_sudo = HarnessRun::new("root", "auth");
    admins_sudo.ruser = Some(admin.name.clone());
    // (No role names the admin's own login: allowed without a tap.)
    let said = w.try_login(&w.sudo, &admins_sudo, Caller::SudoOf(admin.uid));
    assert!(
        said.contains("RESULT auth=PAM_SUCCESS"),
        "{said}\n{}",
        w.agent.log()
    );
    drop(w);
    drop((admin, bob, alice));
}

#[test]
fn unanswered_keyless_ssh_prompts_to_root_leave_roots_own_sudo() {
    require_root!();
    let deploy = TestUser::create();
    let w = world("sshd-budgets-root", &["root", &deploy.name]);
    let ssh = &w.ssh;
    let keyless_root = sshd_login("root", None);
    w.hold(ssh, &keyless_root, Caller::Root, 8);
    let said = w.try_login(ssh, &keyless_root, Caller::Root);
    assert!(
        said.contains("too many pending logins for root over SSH without a key"),
        "{said}\n{}",
        w.agent.log()
    );
    // `sudo -u deploy id` run by root, NOPASSWD: sudo runs the account
    // stack only, and root itself asking needs no tap.
    let mut roots_sudo = HarnessRun::new(&deploy.name, "account");
    roots_sudo.ruser = Some("root".into());
    let said = w.try_login(&w.sudo, &roots_sudo, Caller::Root);
    assert!(
        said.contains("RESULT account=PAM_SUCCESS"),
        "{said}\n{}",
        w.agent.log()
    );
    drop(w);
    drop(deploy);
}

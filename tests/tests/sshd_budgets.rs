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
//! - Key-less SSH prompts to 32 accounts, 8 each, hold only the key-less
//!   share of the system's pending logins: logins that need no tap (sshd's,
//!   the console's, root's own sudo) still connect and are allowed.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use mfa_agent::ipc::{KEYLESS_PENDING, PER_ACCOUNT_KEYLESS_PENDING, SYSTEM_CONNECTIONS};
use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::mfa_sshd::module_args;
use pam_mfa_e2e::pam_stack::{HarnessRun, PamStack};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

#[path = "sshd_budgets/caller.rs"]
mod caller;
use caller::{as_caller, login_uid_settable, Caller};

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

struct World {
    work: WorkDir,
    agent: Agent,
    ssh: PamStack,
    sudo: PamStack,
    /// The console `login` (a service of the desktop class).
    console: PamStack,
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
    let console_service = unique_name("login-mfab");
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env("prod")
            .service(&ssh_service, "ssh")
            .service(&sudo_service, "admin")
            .service(&console_service, "desktop"),
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
        console: PamStack::new(&work, &console_service, &text),
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
        let runs = vec![run.clone(); n];
        let said = self.try_holding(stack, &runs, caller);
        assert!(
            said.iter().all(|s| s.contains(HOLDING)),
            "the prompts were not all held: {said:#?}\n{}",
            self.agent.log()
        );
    }

    /// Starts a login of each of `runs` by `caller` that holds its prompt
    /// when it gets one, and waits until each holds it or has ended: what
    /// each printed.
    fn try_holding(&self, stack: &PamStack, runs: &[HarnessRun], caller: Caller) -> Vec<String> {
        let mut started = Vec::new();
        for run in runs {
            let out = self
                .work
                .path()
                .join(format!("{}.out", unique_name("held")));
            let mut cmd = stack.command(run);
            cmd.args(["--hold-on-prompt", "120"])
                .stdin(Stdio::null())
                .stdout(File::create(&out).unwrap())
                .stderr(Stdio::null());
            as_caller(&mut cmd, caller);
            let mut held = self.held.borrow_mut();
            held.0.push(cmd.spawn().expect("spawn pam-harness"));
            started.push((out, held.0.len() - 1));
        }
        let start = Instant::now();
        let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        loop {
            let ended = |i: usize| matches!(self.held.borrow_mut().0[i].try_wait(), Ok(Some(_)));
            // Read after the exit is seen: an ended login's output is whole.
            let settled: Vec<Option<String>> = started
                .iter()
                .map(|(out, i)| {
                    let done = ended(*i);
                    Some(read(out)).filter(|s| done || s.contains(HOLDING))
                })
                .collect();
            if settled.iter().all(Option::is_some) {
                return settled.into_iter().flatten().collect();
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the logins neither held their prompt nor ended: {settled:#?}\n{}",
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

/// What pam-harness prints when it holds a prompt.
const HOLDING: &str = "CONV: holding";

fn prompted(said: &str) -> bool {
    said.contains("PROMPT(") && !said.contains("too many")
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

/// Key-less SSH prompts (keyboard-interactive, which anyone who reaches
/// sshd may leave unanswered) to as many accounts as it took to fill the
/// system's connections before: 32, 8 each. They took all 256, and every
/// login of a root peer with no one behind it was refused at connect
/// ("too many connections for the system"), even those that need no tap.
/// Now they hold the key-less logins' share of the system's pending
/// logins: the rest are refused as they would wait, a login with a key
/// still gets its prompt, and logins that need no tap are allowed: sshd's,
/// the console's and root's own sudo.
#[test]
fn keyless_prompts_on_many_accounts_leave_logins_that_need_no_tap_theirs() {
    require_root!();
    let flooded = SYSTEM_CONNECTIONS / PER_ACCOUNT_KEYLESS_PENDING;
    let accounts: Vec<TestUser> = (0..=flooded).map(|_| TestUser::create()).collect();
    let names: Vec<&str> = accounts.iter().map(|u| u.name.as_str()).collect();
    let w = world("sshd-budgets-flood", &names);
    let (last, flooded) = accounts.split_last().unwrap();
    let runs: Vec<HarnessRun> = flooded
        .iter()
        .flat_map(|u| vec![sshd_login(&u.name, None); PER_ACCOUNT_KEYLESS_PENDING])
        .collect();
    let said = w.try_holding(&w.ssh, &runs, Caller::Root);
    let held = said.iter().filter(|s| s.contains(HOLDING)).count();
    let threads = w.agent.pid().map(|pid| {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let line = status.lines().find_map(|l| l.strip_prefix("Threads:"));
        line.and_then(|n| n.trim().parse::<usize>().ok())
            .unwrap_or(0)
    });
    eprintln!(
        "{} key-less prompts: {held} held, agent threads {threads:?}",
        runs.len()
    );
    assert_eq!(held, KEYLESS_PENDING, "{}", w.agent.log());
    let refused = "too many pending logins over SSH without a key (all accounts together)";
    for s in said.iter().filter(|s| !s.contains(HOLDING)) {
        assert!(s.contains(refused), "{s}\n{}", w.agent.log());
    }
    assert!(threads.is_none_or(|n| n < runs.len()), "{threads:?}");
    // A further key-less prompt, to an account none holds, still may not
    // wait; one with a key still gets its prompt.
    let said = w.try_login(&w.ssh, &sshd_login(&last.name, None), Caller::Root);
    assert!(said.contains(refused), "{said}\n{}", w.agent.log());
    let key = SshKey::generate(w.work.path(), "id_last", KeyKind::Ed25519, false);
    let said = w.try_login(&w.ssh, &sshd_login(&last.name, Some(&key)), Caller::Root);
    assert!(prompted(&said), "{said}\n{}", w.agent.log());
    // Logins that need no tap (no role names root) are allowed: sshd's,
    // root's at the console, and root's own `sudo -u ACCOUNT`.
    let mut console = HarnessRun::new("root", "auth");
    console.tty = Some("tty1".into());
    let mut roots_sudo = HarnessRun::new(&last.name, "account");
    roots_sudo.ruser = Some("root".into());
    for (stack, run, op) in [
        (&w.ssh, sshd_login("root", None), "auth"),
        (&w.console, console, "auth"),
        (&w.sudo, roots_sudo, "account"),
    ] {
        let said = w.try_login(stack, &run, Caller::Root);
        assert!(
            said.contains(&format!("RESULT {op}=PAM_SUCCESS")),
            "{said}\n{}",
            w.agent.log()
        );
    }
    drop(w);
    drop(accounts);
}

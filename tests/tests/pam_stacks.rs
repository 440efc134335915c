//! pam_mfa.so in sudo-class and login-class PAM stacks, through pam-harness
//! (Linux-PAM's pam_start_confdir, no /etc/pam.d involved).

mod common;

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::pam_stack::{HarnessOutcome, HarnessRun, PamStack};
use pam_mfa_e2e::syslog::SyslogCapture;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

/// Fields drop in order: agent, user, work dir.
struct World {
    agent: Agent,
    sudo: PamStack,
    login: PamStack,
    user: TestUser,
    work: WorkDir,
}

/// `auth required pam_mfa.so ...` + `account required pam_mfa.so ...`.
fn module_stack(socket: &std::path::Path, extra: &str) -> String {
    let module = bins::pam_module();
    bins::require(&module);
    let args = module_args(socket, extra);
    format!(
        "auth required {m} {args}\naccount required {m} {args}\n",
        m = module.display()
    )
}

/// An agent on a node labelled `env: <env>` mapping `sudo-mfat<random>` to admin
/// and `login-mfat<random>` to desktop, with the scenario bundle.
fn world(label: &str, env: &str, cap_mfa: &str) -> World {
    let work = WorkDir::new(label);
    let user = TestUser::create();
    let sudo_service = unique_name("sudo-mfat");
    let login_service = unique_name("login-mfat");
    let config = AgentConfig::with_env(env)
        .service(&sudo_service, "admin")
        .service(&login_service, "desktop");
    let b: Bundle = bundle(&user.name, cap_mfa, "true", &[]);
    let agent = Agent::start(&work, &config, &b);
    let sudo = PamStack::new(&work, &sudo_service, &module_stack(&agent.socket, ""));
    let login = PamStack::new(&work, &login_service, &module_stack(&agent.socket, ""));
    World {
        agent,
        sudo,
        login,
        user,
        work,
    }
}

/// sudo as `user` (PAM_USER and PAM_RUSER are the invoking user).
fn sudo_run(user: &str) -> HarnessRun {
    let mut r = HarnessRun::new(user, "auth+account");
    r.ruser = Some(user.to_string());
    r.tty = Some("/dev/pts/7".into());
    r
}

/// A console login as `user`.
fn login_run(user: &str) -> HarnessRun {
    let mut r = HarnessRun::new(user, "auth+account");
    r.tty = Some("tty3".into());
    r
}

fn evidence(w: &World, out: &HarnessOutcome) -> String {
    format!("{}\n{}", out.describe(), w.agent.evidence())
}

#[test]
fn sudo_on_dev_node_allows_the_cluster_user_without_a_tap() {
    require_root!();
    let w = world("pam-sudo-dev", "dev", "false");
    let out = w.sudo.run(&sudo_run(&w.user.name));
    assert_eq!(out.exit_code(), Some(0), "{}", evidence(&w, &out));
    assert_eq!(out.result("auth"), "PAM_SUCCESS");
    assert_eq!(out.result("account"), "PAM_SUCCESS");
    assert!(
        out.prompts.is_empty(),
        "no prompt expected:\n{}",
        evidence(&w, &out)
    );
    let login = w.user.name.clone();
    let e = w
        .agent
        .wait_audit(std::time::Duration::from_secs(5), |e| {
            field(e, "login") == login && field(e, "result") == "allow"
        })
        .unwrap_or_else(|| panic!("no allow event:\n{}", w.agent.audit_text()));
    assert_event_shape(&e);
    assert_eq!(field(&e, "service"), w.sudo.service);
}

#[test]
fn sudo_on_prod_node_without_key_evidence_is_refused_with_a_message() {
    require_root!();
    let w = world("pam-sudo-prod", "prod", "false");
    let out = w.sudo.run(&sudo_run(&w.user.name));
    assert_eq!(out.exit_code(), Some(1), "{}", evidence(&w, &out));
    assert_ne!(out.result("auth"), "PAM_SUCCESS", "{}", evidence(&w, &out));
    assert!(
        !out.infos.is_empty() || !out.errors.is_empty() || !out.prompts.is_empty(),
        "the refusal should tell the person why:\n{}",
        evidence(&w, &out)
    );
    let login = w.user.name.clone();
    let e = w
        .agent
        .wait_audit(std::time::Duration::from_secs(5), |e| {
            field(e, "login") == login && field(e, "result") != "allow" && e.get("result").is_some()
        })
        .unwrap_or_else(|| panic!("no refusal event:\n{}", w.agent.audit_text()));
    assert_event_shape(&e);
}

#[test]
fn desktop_login_on_dev_node_is_allowed_and_on_prod_refused() {
    require_root!();
    let dev = world("pam-login-dev", "dev", "false");
    let out = dev.login.run(&login_run(&dev.user.name));
    assert_eq!(out.exit_code(), Some(0), "{}", evidence(&dev, &out));
    drop(dev);
    let prod = world("pam-login-prod", "prod", "false");
    let out = prod.login.run(&login_run(&prod.user.name));
    assert_eq!(out.exit_code(), Some(1), "{}", evidence(&prod, &out));
    assert_ne!(
        out.result("auth"),
        "PAM_SUCCESS",
        "{}",
        evidence(&prod, &out)
    );
}

#[test]
fn unknown_user_with_cap_off_is_allowed() {
    require_root!();
    let w = world("pam-unknown", "prod", "false");
    let stranger = TestUser::create();
    let out = w.sudo.run(&sudo_run(&stranger.name));
    assert_eq!(out.exit_code(), Some(0), "{}", evidence(&w, &out));
    assert_eq!(out.result("auth"), "PAM_SUCCESS");
}

#[test]
fn agent_down_fail_closed_is_authinfo_unavail() {
    require_root!();
    let mut w = world("pam-down", "dev", "false");
    // Sanity: up, it allows.
    let out = w.sudo.run(&sudo_run(&w.user.name));
    assert_eq!(out.exit_code(), Some(0), "{}", evidence(&w, &out));
    w.agent.stop();
    let syslog = SyslogCapture::start(&w.work);
    let t = std::time::Instant::now();
    let out = w.sudo.run(&sudo_run(&w.user.name).syslog_to(&syslog));
    assert!(t.elapsed() < refusal_deadline(), "took {:?}", t.elapsed());
    assert_eq!(
        out.result("auth"),
        "PAM_AUTHINFO_UNAVAIL",
        "{}",
        evidence(&w, &out)
    );
    assert_eq!(out.exit_code(), Some(1));
    let line = syslog.wait_for("pam_mfa", std::time::Duration::from_secs(5));
    assert!(
        line.is_some(),
        "no pam_mfa syslog line: {:?}",
        syslog.lines()
    );
    assert!(line.unwrap().contains(&w.sudo.service));

    // fail_mode=open: the module steps aside (PAM_IGNORE), pam_permit decides.
    let module = bins::pam_module();
    let args = module_args(&w.agent.socket, "fail_mode=open");
    w.sudo.set_text(&format!(
        "auth required {m} {args}\nauth required pam_permit.so\naccount required {m} {args}\naccount required pam_permit.so\n",
        m = module.display()
    ));
    let out = w.sudo.run(&sudo_run(&w.user.name));
    assert_eq!(out.exit_code(), Some(0), "{}", evidence(&w, &out));
    // And alone, an ignoring module does not make a stack succeed.
    w.sudo
        .set_text(&format!("auth required {} {args}\n", module.display()));
    let mut r = sudo_run(&w.user.name);
    r.op = "auth".into();
    let out = w.sudo.run(&r);
    assert_ne!(out.result("auth"), "PAM_SUCCESS", "{}", evidence(&w, &out));
}

/// sshd or sudo in a container that shares the host's agent socket: from
/// the module's pid namespace the agent's pid is invisible, and SO_PEERCRED
/// says pid 0. The module checks only the peer's uid, read into the
/// kernel's own `struct ucred`, and gets its answer as anywhere else.
#[test]
fn a_module_that_cannot_see_the_agents_pid_still_gets_its_answer() {
    require_root!();
    let w = world("pam-pidns", "dev", "false");
    let mut run = sudo_run(&w.user.name);
    run.own_pid_namespace = true;
    let out = w.sudo.run(&run);
    assert_eq!(out.exit_code(), Some(0), "{}", evidence(&w, &out));
    assert_eq!(out.result("auth"), "PAM_SUCCESS", "{}", evidence(&w, &out));
    assert_eq!(out.result("account"), "PAM_SUCCESS");
}

//! The console break-glass line the pam-auth-update profile ships, through
//! real Linux-PAM (pam-harness, a private confdir, service `login`): which
//! terminals it lets root past pam_mfa.so on. Every local console (virtual,
//! serial, hypervisor: `tty1`, `ttyS0`, `ttyAMA0`, `hvc0`, `console`, with
//! or without `/dev/` as login sets PAM_TTY), and never a pseudo-terminal
//! (SSH, a terminal window, a remote login: `/dev/pts/N`). In place of
//! pam_mfa.so the stack has pam_deny.so, so no agent is needed: a login the
//! line does not let past is refused.

use pam_mfa_e2e::bins::workspace_root;
use pam_mfa_e2e::pam_stack::{HarnessRun, PamStack};
use pam_mfa_e2e::workdir::WorkDir;

/// The profile's break-glass, as `auth` line, before pam_deny.so (where
/// pam_mfa.so would be) and pam_permit.so (the rest of the stack).
fn stack_with_the_shipped_break_glass() -> String {
    let profile = std::fs::read_to_string(workspace_root().join("packaging/pam-configs/pam-mfa"))
        .expect("packaging/pam-configs/pam-mfa");
    let glass = profile
        .lines()
        .find(|l| l.contains("pam_succeed_if.so"))
        .expect("the profile's break-glass line");
    let next = profile
        .lines()
        .skip_while(|l| *l != glass)
        .nth(1)
        .unwrap_or("");
    assert!(
        next.contains("pam_mfa.so") && glass.contains("[success=1 default=ignore]"),
        "the break-glass must jump over the pam_mfa.so line right after it:\n{profile}"
    );
    format!(
        "auth {}\nauth required pam_deny.so\nauth required pam_permit.so\n",
        glass.trim()
    )
}

fn passes(stack: &PamStack, user: &str, tty: Option<&str>) -> bool {
    let mut r = HarnessRun::new(user, "auth");
    r.tty = tty.map(str::to_string);
    let out = stack.run(&r);
    match out.result("auth") {
        "PAM_SUCCESS" => true,
        "PAM_AUTH_ERR" => false,
        other => panic!("{user} on {tty:?}: {other}\n{}", out.describe()),
    }
}

#[test]
fn the_break_glass_takes_every_local_console_and_no_pseudo_terminal() {
    let work = WorkDir::new("break-glass-ttys");
    let stack = PamStack::new(&work, "login", &stack_with_the_shipped_break_glass());
    for console in [
        "tty1", "tty63", "ttyS0", "ttyAMA0", "ttyUSB0", "hvc0", "hvc1", "console",
    ] {
        for tty in [console.to_string(), format!("/dev/{console}")] {
            assert!(passes(&stack, "root", Some(&tty)), "root on {tty}: refused");
        }
    }
    for pty in ["pts/0", "/dev/pts/0", "/dev/pts/17", "ssh"] {
        assert!(
            !passes(&stack, "root", Some(pty)),
            "root on {pty}: let past"
        );
    }
    assert!(!passes(&stack, "root", None), "root with no tty: let past");
    // Root only.
    for tty in ["/dev/tty1", "/dev/hvc0", "/dev/console"] {
        assert!(
            !passes(&stack, "nobody", Some(tty)),
            "nobody on {tty}: let past"
        );
    }
    // login only.
    let other = PamStack::new(&work, "sudo", &stack_with_the_shipped_break_glass());
    assert!(!passes(&other, "root", Some("/dev/tty1")), "sudo: let past");
}

//! The console break-glass: the shipped profile's line passes doctor, and
//! nothing wider (another jump, another service, `use_uid`) does.

use super::check_host;
use super::tests::{ids, with_pam, COMMON_AUTH};

/// common-auth as `pam-auth-update --enable pam-mfa` writes it from the
/// profile the packages ship (its Auth lines after Debian's stock ones).
fn common_auth_with_the_shipped_profile() -> String {
    let profile = include_str!("../../../../packaging/pam-configs/pam-mfa");
    let auth: String = profile
        .split_once("\nAuth:\n")
        .expect("the profile's Auth: field")
        .1
        .lines()
        .take_while(|l| l.starts_with('\t'))
        .map(|l| format!("auth {}\n", l.trim()))
        .collect();
    assert!(auth.contains("pam_mfa.so"), "{auth}");
    format!("{COMMON_AUTH}{auth}")
}

#[test]
fn the_console_break_glass_of_the_profile_is_no_finding_and_nothing_wider_passes() {
    let common = common_auth_with_the_shipped_profile();
    let mut f = with_pam("common-auth", &common);
    f.pam_files.insert(
        "sudo".into(),
        "@include common-auth\n@include common-account\n".into(),
    );
    for (name, text) in [
        (
            "login",
            "auth requisite pam_nologin.so\n@include common-auth\nauth optional pam_group.so\n",
        ),
        (
            "su",
            "auth sufficient pam_rootok.so\n@include common-auth\n",
        ),
    ] {
        f.pam_files.insert(name.into(), text.into());
    }
    assert_eq!(ids(&f), Vec::<String>::new(), "{common}");
    // A jump over pam_mfa.so that is wider than root at a local terminal
    // through login is still a way around it.
    for wider in [
        "user = root",
        "service = login user = root",
        "service = login tty =~ tty*",
        "user = root tty =~ tty*",
        "service = sudo user = root tty =~ tty*",
        "service = login user = root tty =~ *",
    ] {
        let jump = format!(
            "auth [success=1 default=ignore] pam_succeed_if.so quiet_fail {wider}\nauth required pam_mfa.so\n"
        );
        let f = with_pam("sudo", &format!("{COMMON_AUTH}{jump}"));
        assert!(
            ids(&f).contains(&"pam.sudo.not_effective".to_string()),
            "{wider}"
        );
    }
    // The break-glass's own conditions with a wider effect: use_uid (the
    // uid of login itself, root, for every console user), or a jump over
    // more than the next line.
    for (control, extra, between) in [
        ("[success=1 default=ignore]", "use_uid ", ""),
        (
            "[success=2 default=ignore]",
            "",
            "auth required pam_permit.so\n",
        ),
    ] {
        let jump = format!(
            "auth {control} pam_succeed_if.so quiet_fail {extra}service = login user = root tty =~ tty*\n{between}auth required pam_mfa.so\n"
        );
        let f = with_pam("login", &format!("{COMMON_AUTH}{jump}"));
        assert!(
            ids(&f).contains(&"pam.login.not_effective".to_string()),
            "{control} {extra}: {:?}",
            ids(&f)
        );
    }
}

#[test]
fn login_without_the_break_glass_is_a_warning_and_its_fix_gives_the_line() {
    let stock = "auth requisite pam_nologin.so\n@include common-auth\n";
    // Not in login's stack: the fix names the break-glass line too.
    let f = with_pam("login", stock);
    let missing = check_host(&f)
        .into_iter()
        .find(|x| x.id == "pam.login.missing")
        .expect("pam.login.missing");
    assert!(
        missing.fix.contains(super::pam_stack::BREAK_GLASS_LINE),
        "{}",
        missing.fix
    );
    // By hand without the break-glass: root has no way in at the console.
    let f = with_pam("login", &format!("{stock}auth required pam_mfa.so\n"));
    assert_eq!(ids(&f), ["pam.login.no_break_glass"]);
    // With it (by hand, or the profile's common-auth): nothing to say.
    let f = with_pam(
        "login",
        &format!(
            "{stock}{}\nauth required pam_mfa.so\n",
            super::pam_stack::BREAK_GLASS_LINE
        ),
    );
    assert_eq!(ids(&f), Vec::<String>::new());
    // With another line between them, the jump skips that line and root
    // still meets pam_mfa.so.
    let f = with_pam(
        "login",
        &format!(
            "{stock}{}\nauth optional pam_group.so\nauth required pam_mfa.so\n",
            super::pam_stack::BREAK_GLASS_LINE
        ),
    );
    assert_eq!(ids(&f), ["pam.login.no_break_glass"]);
    let mut f = with_pam("common-auth", &common_auth_with_the_shipped_profile());
    f.pam_files.insert("login".into(), stock.into());
    f.pam_files
        .insert("sudo".into(), "@include common-auth\n".into());
    assert_eq!(ids(&f), Vec::<String>::new());
}

/// A break-glass as earlier builds wrote it: `tty =~ tty*` (Debian's login
/// sets PAM_TTY to `/dev/tty1`, which that glob does not match) or
/// `tty =~ *tty*` (no `hvc0`, no `console`): the doctor says so, naming
/// what it misses, and still does not take it for a way around pam_mfa.so
/// in sudo's stack.
#[test]
fn the_older_tty_globs_are_named_as_missing_consoles() {
    use super::pam_stack::{BREAK_GLASS_LINE, CONSOLE_TTY_GLOB};
    for (glob, missed) in [("tty*", "/dev/tty1"), ("*tty*", "hvc0")] {
        let old = BREAK_GLASS_LINE.replace(CONSOLE_TTY_GLOB, glob);
        assert_ne!(old, BREAK_GLASS_LINE);
        let mut f = with_pam(
            "common-auth",
            &format!("{COMMON_AUTH}{old}\nauth required pam_mfa.so\n"),
        );
        f.pam_files
            .insert("login".into(), "@include common-auth\n".into());
        f.pam_files
            .insert("sudo".into(), "@include common-auth\n".into());
        assert_eq!(ids(&f), ["pam.login.break_glass_misses_consoles"], "{glob}");
        let finding = check_host(&f)
            .into_iter()
            .find(|x| x.id == "pam.login.break_glass_misses_consoles")
            .expect("finding");
        assert!(finding.what.contains(missed), "{glob}: {}", finding.what);
        assert!(finding.fix.contains(BREAK_GLASS_LINE), "{}", finding.fix);
    }
}

/// One break-glass everywhere it is shown or shipped: the profile, the
/// login example, README and pam_mfa(8) give doctor's line, whose glob
/// is [`super::pam_stack::CONSOLE_TTY_GLOB`].
#[test]
fn the_break_glass_line_is_the_same_everywhere_it_is_shown() {
    use super::pam_stack::{BREAK_GLASS_LINE, CONSOLE_TTY_GLOB};
    assert!(BREAK_GLASS_LINE.ends_with(&format!(" tty =~ {CONSOLE_TTY_GLOB}")));
    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let line = words(BREAK_GLASS_LINE);
    let conditions = line.strip_prefix("auth ").unwrap();
    for (name, text) in [
        (
            "packaging/pam-configs/pam-mfa",
            include_str!("../../../../packaging/pam-configs/pam-mfa"),
        ),
        (
            "config/pam.d/login",
            include_str!("../../../../config/pam.d/login"),
        ),
        ("README.md", include_str!("../../../../README.md")),
        (
            "packaging/man/pam_mfa.8",
            include_str!("../../../../packaging/man/pam_mfa.8"),
        ),
    ] {
        let shown: Vec<String> = text
            .lines()
            .filter(|l| l.contains("pam_succeed_if.so quiet_fail service = login"))
            .map(words)
            .collect();
        assert!(!shown.is_empty(), "{name} shows no break-glass line");
        for l in shown {
            assert!(l.ends_with(conditions), "{name}: `{l}` is not `{line}`");
        }
    }
}

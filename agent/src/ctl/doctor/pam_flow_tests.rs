//! Whether pam_mfa.so really decides, as libpam walks the stack
//! (substacks, jumps on any return code, `done`, its own control,
//! pam_rootok), each case as Linux-PAM 1.5.2 ran it (pam_debug.so
//! standing for pam_mfa.so's refusal).

use super::pam_stack::BREAK_GLASS_LINE;
use super::tests::{good, ids, with_pam};
use super::{check_host, exit_code, Facts, Severity};

const NOT_EFFECTIVE: &str = "pam.sudo.not_effective";

/// authselect's system-auth (RHEL 9), its auth lines.
const SYSTEM_AUTH: &str = "auth required pam_env.so\nauth sufficient pam_unix.so try_first_pass nullok\nauth required pam_deny.so\n";

/// The reason of `id`'s finding.
fn what(f: &Facts, id: &str) -> String {
    check_host(f)
        .into_iter()
        .find(|x| x.id == id)
        .unwrap_or_else(|| panic!("no {id} in {:?}", ids(f)))
        .what
}

fn sudo(text: &str) -> Vec<String> {
    ids(&with_pam("sudo", text))
}

#[test]
fn sufficient_in_a_substack_ends_only_the_substack_an_include_ends_the_stack() {
    // README's RHEL su: su asks for the tap after system-auth's password.
    let su = "auth sufficient pam_rootok.so\nauth substack system-auth\nauth required pam_mfa.so\nauth include postlogin\n";
    let mut f = with_pam("system-auth", SYSTEM_AUTH);
    f.pam_files.insert("su".into(), su.into());
    assert_eq!(ids(&f), Vec::<String>::new());
    // Spliced in by `include`, pam_unix's success ends su's stack.
    f.pam_files
        .insert("su".into(), su.replace("substack", "include"));
    assert_eq!(ids(&f), ["pam.su.not_effective"]);
    // Inside the substack, a sufficient line before pam_mfa.so skips it.
    let mut f = with_pam("sudo", "auth required pam_env.so\nauth substack mfa-auth\n");
    f.pam_files.insert(
        "mfa-auth".into(),
        "auth sufficient pam_unix.so\nauth required pam_mfa.so\n".into(),
    );
    assert!(what(&f, NOT_EFFECTIVE).contains("ends its substack"));
    // A jump inside a substack never leaves it (too long, the stack fails).
    f.pam_files.insert(
        "mfa-auth".into(),
        "auth [success=3 default=ignore] pam_unix.so\nauth required pam_permit.so\n".into(),
    );
    f.pam_files.insert(
        "sudo".into(),
        "auth substack mfa-auth\nauth required pam_mfa.so\nauth required pam_permit.so\n".into(),
    );
    assert_eq!(ids(&f), Vec::<String>::new());
}

#[test]
fn a_jump_skips_a_whole_substack_as_one_line_and_an_included_file_line_by_line() {
    let jump = "auth [success=1 default=ignore] pam_succeed_if.so quiet user ingroup exempt\n";
    let mut f = with_pam("sudo", &format!("{jump}auth substack mfa-auth\n"));
    f.pam_files.insert(
        "mfa-auth".into(),
        format!("{BREAK_GLASS_LINE}\nauth required pam_mfa.so\n"),
    );
    assert!(
        what(&f, NOT_EFFECTIVE).contains("jumps over pam_mfa.so"),
        "{:?}",
        ids(&f)
    );
    // Included, the jump skips the break-glass line only.
    f.pam_files
        .insert("sudo".into(), format!("{jump}auth include mfa-auth\n"));
    assert_eq!(ids(&f), Vec::<String>::new());
    // The break-glass before login's substack jumps over all of it.
    f.pam_files.insert(
        "mfa-auth".into(),
        "auth required pam_env.so\nauth required pam_mfa.so\n".into(),
    );
    f.pam_files.insert(
        "login".into(),
        format!("{BREAK_GLASS_LINE}\nauth substack mfa-auth\n"),
    );
    f.pam_files
        .insert("sudo".into(), "auth substack mfa-auth\n".into());
    assert_eq!(ids(&f), Vec::<String>::new());
}

#[test]
fn a_jump_on_any_return_code_or_done_on_success_is_a_way_around() {
    for (before, code) in [
        (
            "[success=ok default=1] pam_succeed_if.so quiet user notingroup exempt",
            "`default`",
        ),
        (
            "[default=1 ignore=ignore success=ok] pam_usertype.so isregular",
            "`default`",
        ),
        (
            "[success=ok user_unknown=1] pam_localuser.so",
            "`user_unknown`",
        ),
        ("[default=done] pam_localuser.so", "ends the stack"),
        ("[success=done default=bad] pam_unix.so", "ends the stack"),
        ("binding pam_unix.so", "ends the stack"),
    ] {
        let text =
            format!("auth {before}\nauth required pam_mfa.so\nauth required pam_permit.so\n");
        let f = with_pam("sudo", &text);
        assert!(what(&f, NOT_EFFECTIVE).contains(code), "{before}");
    }
    // `done` on a failure ends the stack with that failure, `die` too; a
    // jump that does not reach pam_mfa.so is no way around it.
    for before in [
        "[success=ok default=done] pam_localuser.so",
        "[success=ok new_authtok_reqd=ok default=die] pam_unix.so",
        "[success=ok default=1] pam_unix.so\nauth required pam_permit.so",
    ] {
        let text = format!("auth {before}\nauth required pam_mfa.so\n");
        assert_eq!(sudo(&text), Vec::<String>::new(), "{before}");
    }
}

#[test]
fn its_own_control_must_refuse_on_every_failure() {
    for own in [
        "optional",
        "sufficient",
        "[success=ok default=ignore]",
        "[success=ok authinfo_unavail=ignore default=bad]",
        "[success=ok perm_denied=1 default=bad]",
        "[success=ok auth_err=reset default=die]",
    ] {
        let text = format!(
            "auth required pam_unix.so\nauth {own} pam_mfa.so\nauth required pam_permit.so\n"
        );
        assert!(
            what(&with_pam("sudo", &text), NOT_EFFECTIVE).contains("its refusal does not refuse"),
            "{own}"
        );
    }
    // `ok` and `done` keep a failure as the stack's result (Linux-PAM
    // ends with it); `ignore=ignore` is `required`'s own (fail_mode=open).
    for own in [
        "required",
        "requisite",
        "binding",
        "[success=ok ignore=ignore default=bad]",
        "[success=ok default=ok]",
        "[success=done default=done]",
    ] {
        let text = format!("auth required pam_unix.so\nauth {own} pam_mfa.so\n");
        assert_eq!(sudo(&text), Vec::<String>::new(), "{own}");
    }
    // A `reset` after it puts back the verdict from before its refusal.
    let text = "auth required pam_mfa.so\nauth [success=ok default=reset] pam_localuser.so\nauth required pam_permit.so\n";
    assert!(what(&with_pam("sudo", text), NOT_EFFECTIVE).contains("resets"));
    // Not from inside a substack that starts after it.
    let mut f = with_pam("sudo", "auth required pam_mfa.so\nauth substack later\n");
    f.pam_files.insert(
        "later".into(),
        "auth [default=reset] pam_localuser.so\n".into(),
    );
    assert_eq!(ids(&f), Vec::<String>::new());
}

#[test]
fn pam_rootok_is_root_only_in_su_and_runuser_everyone_in_login_sshd_and_gdm() {
    let rootok = "auth sufficient pam_rootok.so\n";
    for service in ["login", "sshd", "gdm-password", "sudo"] {
        let mut f = good();
        let mut text = format!("{rootok}{BREAK_GLASS_LINE}\nauth required pam_mfa.so\n");
        if service == "sshd" {
            text.push_str("account required pam_mfa.so\nsession required pam_mfa.so\n");
        }
        f.pam_files.insert(service.into(), text);
        let id = format!("pam.{service}.not_effective");
        assert!(what(&f, &id).contains("pam_rootok.so"), "{service}");
    }
    let f = with_pam(
        "su",
        &format!("{rootok}@include common-auth\nauth required pam_mfa.so\n"),
    );
    assert_eq!(ids(&f), Vec::<String>::new());
}

#[test]
fn a_missing_service_is_an_error_where_its_other_name_asks_for_the_tap() {
    let missing = |f: &Facts, id: &str| {
        check_host(f)
            .into_iter()
            .find(|x| x.id == id)
            .map(|x| x.severity)
    };
    // sudo asks for the tap, `sudo -i` only for the password.
    let f = with_pam("sudo-i", "@include common-auth\n");
    assert_eq!(missing(&f, "pam.sudo-i.missing"), Some(Severity::Error));
    assert_eq!(exit_code(&check_host(&f)), 2);
    // Neither is set up: a service pam-mfa is not used for, a warning.
    let mut f = with_pam("sudo-i", "@include common-auth\n");
    f.pam_files
        .insert("sudo".into(), "@include common-auth\n".into());
    assert_eq!(missing(&f, "pam.sudo.missing"), Some(Severity::Warning));
    assert_eq!(missing(&f, "pam.sudo-i.missing"), Some(Severity::Warning));
    // su and su-l alike; su-l including su has su's lines (root's own
    // pam_rootok too, excused there as in su).
    let mut f = with_pam(
        "su",
        "auth sufficient pam_rootok.so\n@include common-auth\nauth required pam_mfa.so\n",
    );
    f.pam_files
        .insert("su-l".into(), "auth include su\n".into());
    assert_eq!(ids(&f), Vec::<String>::new());
    f.pam_files
        .insert("su-l".into(), "@include common-auth\n".into());
    assert_eq!(missing(&f, "pam.su-l.missing"), Some(Severity::Error));
    f.pam_files
        .insert("su".into(), "@include common-auth\n".into());
    assert_eq!(missing(&f, "pam.su-l.missing"), Some(Severity::Warning));
    // login has no other name: still a warning beside sudo's tap.
    let f = with_pam("login", "@include common-auth\n");
    assert_eq!(missing(&f, "pam.login.missing"), Some(Severity::Warning));
}

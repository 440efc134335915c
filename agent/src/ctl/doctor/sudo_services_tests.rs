//! sudo-i and polkit-1: checked as sudo is.

use super::tests::{ids, with_pam, COMMON_AUTH};

/// Debian's /etc/pam.d/sudo-i, as the sudo package ships it: `sudo -i`
/// runs this stack, not sudo's.
const DEBIAN_SUDO_I: &str = "#%PAM-1.0\n\n# Set up user limits from /etc/security/limits.conf.\nsession    required   pam_limits.so\n\n@include common-auth\n@include common-account\n@include common-session\n";

#[test]
fn sudo_i_and_polkit_are_checked_like_sudo() {
    for service in ["sudo-i", "polkit-1"] {
        // As shipped: `sudo -i` (or pkexec) would give root without a tap.
        let f = with_pam(service, DEBIAN_SUDO_I);
        assert_eq!(ids(&f), [format!("pam.{service}.missing")], "{service}");
        let f = with_pam(
            service,
            &DEBIAN_SUDO_I.replace(
                "@include common-auth\n",
                "@include common-auth\nauth required pam_mfa.so\n",
            ),
        );
        assert_eq!(ids(&f), Vec::<String>::new(), "{service}");
        let f = with_pam(
            service,
            "auth sufficient pam_unix.so\nauth required pam_mfa.so\n",
        );
        assert!(
            ids(&f).contains(&format!("pam.{service}.not_effective")),
            "{service}"
        );
    }
    // pam-auth-update put the line in common-auth: sudo-i has it through
    // its include.
    let mut f = with_pam(
        "common-auth",
        &format!("{COMMON_AUTH}auth required pam_mfa.so\n"),
    );
    f.pam_files
        .insert("sudo".into(), "@include common-auth\n".into());
    f.pam_files.insert("sudo-i".into(), DEBIAN_SUDO_I.into());
    f.pam_files.insert(
        "sshd".into(),
        "auth required pam_mfa.so\naccount required pam_mfa.so\nsession required pam_mfa.so\n"
            .into(),
    );
    assert_eq!(ids(&f), Vec::<String>::new());
}

/// polkit 122 ships its file only in /usr/lib/pam.d: the fix copies it to
/// /etc/pam.d before the line is added, since a file holding the line
/// alone would replace polkit's whole stack (no password asked).
#[test]
fn polkit_missing_fix_copies_the_vendor_file_first() {
    let f = with_pam("polkit-1", DEBIAN_SUDO_I);
    let found = super::check_host(&f);
    let fix = &found
        .iter()
        .find(|x| x.id == "pam.polkit-1.missing")
        .expect("pam.polkit-1.missing")
        .fix;
    let (copy, line) = (
        fix.find("cp -p /usr/lib/pam.d/polkit-1"),
        fix.find("auth required pam_mfa.so"),
    );
    assert!(copy.is_some() && line.is_some() && copy < line, "{fix}");
}

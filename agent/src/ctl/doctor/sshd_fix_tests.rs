//! sshd fixes name the file whose value sshd uses: sshd keeps the first
//! value it reads, so an earlier drop-in (a cloud image's
//! 50-cloud-init.conf) wins over pam-mfa.conf, and "put it in pam-mfa.conf"
//! changes nothing there.

use std::path::{Path, PathBuf};

use super::sshd::FIXED_KEYWORDS;
use super::sshd_files::first_settings;
use super::tests::{good, SSHD_T};
use super::{check_host, Facts, Finding};

/// A temporary sshd_config including `sshd_config.d/*.conf` at its top,
/// as Debian's does, with the drop-ins given; removed on drop.
struct SshdConfigDir(PathBuf);

impl SshdConfigDir {
    fn new(label: &str, drop_ins: &[(&str, &str)]) -> SshdConfigDir {
        let dir = std::env::temp_dir().join(format!(
            "mfa-doctor-sshd-fix-{label}-{}",
            std::process::id()
        ));
        let d = dir.join("sshd_config.d");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            dir.join("sshd_config"),
            format!(
                "Include {}/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n",
                d.display()
            ),
        )
        .unwrap();
        for (name, text) in drop_ins {
            std::fs::write(d.join(name), text).unwrap();
        }
        SshdConfigDir(dir)
    }

    /// Doctor's facts of a good host, with where sshd's values are set read
    /// from these files.
    fn facts(&self) -> Facts {
        let mut f = good();
        f.sshd_first_settings = Some(first_settings(&self.main(), FIXED_KEYWORDS));
        f
    }

    fn main(&self) -> PathBuf {
        self.0.join("sshd_config")
    }

    fn drop_in(&self, name: &str) -> String {
        Path::new(&self.0)
            .join("sshd_config.d")
            .join(name)
            .display()
            .to_string()
    }
}

impl Drop for SshdConfigDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const PAM_MFA_CONF: &str = "UsePAM yes\nKbdInteractiveAuthentication yes\nAuthenticationMethods publickey,keyboard-interactive\nPermitRootLogin yes\nExposeAuthInfo yes\n";

fn finding(f: &Facts, id: &str) -> Finding {
    check_host(f)
        .into_iter()
        .find(|x| x.id == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

#[test]
fn permit_root_login_fix_names_the_earlier_drop_in_that_wins() {
    let dir = SshdConfigDir::new(
        "root",
        &[
            (
                "50-cloud-init.conf",
                "# from cloud-init\nPermitRootLogin prohibit-password\n",
            ),
            ("pam-mfa.conf", PAM_MFA_CONF),
        ],
    );
    let mut f = dir.facts();
    // sshd -T's name for prohibit-password.
    f.sshd_root = Some(Ok(
        SSHD_T.replace("permitrootlogin yes", "permitrootlogin without-password")
    ));
    let x = finding(&f, "sshd.permit_root_login");
    let at = format!("{}:2", dir.drop_in("50-cloud-init.conf"));
    assert!(
        x.fix
            .starts_with(&format!("{at} sets `PermitRootLogin prohibit-password`")),
        "{}",
        x.fix
    );
    assert!(
        x.fix.contains("change it there to `PermitRootLogin yes`"),
        "{}",
        x.fix
    );
    assert!(!x.fix.contains("put `PermitRootLogin yes` in"), "{}", x.fix);
    // Set by a Match block for root instead (sshd -T -C shows another value
    // than the first global one): the generic fix.
    let f = {
        let mut f = SshdConfigDir::new("root-match", &[("pam-mfa.conf", PAM_MFA_CONF)]).facts();
        f.sshd_root = Some(Ok(SSHD_T.replace(
            "permitrootlogin yes",
            "permitrootlogin forced-commands-only",
        )));
        f
    };
    let x = finding(&f, "sshd.permit_root_login");
    assert!(
        x.fix
            .starts_with("put `PermitRootLogin yes` in /etc/ssh/sshd_config.d/pam-mfa.conf"),
        "{}",
        x.fix
    );
}

#[test]
fn methods_and_expose_auth_info_fixes_name_the_file_that_sets_them_first() {
    let dir = SshdConfigDir::new(
        "methods",
        &[
            (
                "40-local.conf",
                "AuthenticationMethods publickey\nExposeAuthInfo no\n",
            ),
            ("pam-mfa.conf", PAM_MFA_CONF),
        ],
    );
    let mut f = dir.facts();
    let t = SSHD_T
        .replace(
            "authenticationmethods publickey,keyboard-interactive",
            "authenticationmethods publickey",
        )
        .replace("exposeauthinfo yes", "exposeauthinfo no");
    f.sshd = Some(Ok(t.clone()));
    f.sshd_root = Some(Ok(t));
    let at = dir.drop_in("40-local.conf");
    for (id, line) in [
        (
            "sshd.authentication_methods",
            format!("{at}:1 sets `AuthenticationMethods publickey`"),
        ),
        (
            "sshd.expose_auth_info",
            format!("{at}:2 sets `ExposeAuthInfo no`"),
        ),
    ] {
        let x = finding(&f, id);
        assert!(x.fix.starts_with(&line), "{id}: {}", x.fix);
    }
    // Nowhere set (sshd's default): put it in the drop-in.
    let mut f = SshdConfigDir::new("unset", &[]).facts();
    f.sshd = Some(Ok(SSHD_T.replace("exposeauthinfo yes", "exposeauthinfo no")));
    let x = finding(&f, "sshd.expose_auth_info");
    assert!(
        x.fix.starts_with("put `ExposeAuthInfo yes` in"),
        "{}",
        x.fix
    );
}

/// An earlier `KbdInteractiveAuthentication no` (or its alias) makes sshd
/// refuse the drop-in's AuthenticationMethods: the fix names where it is.
#[test]
fn refused_configuration_names_the_earlier_kbd_interactive_no() {
    let dir = SshdConfigDir::new(
        "kbd",
        &[
            ("10-old.conf", "ChallengeResponseAuthentication no\n"),
            ("pam-mfa.conf", PAM_MFA_CONF),
        ],
    );
    let mut f = dir.facts();
    f.sshd = Some(Err("Disabled method \"keyboard-interactive\" in AuthenticationMethods list \"publickey,keyboard-interactive\"".into()));
    let x = finding(&f, "sshd.unreadable");
    assert!(
        x.fix.starts_with(&format!(
            "{}:1 sets `ChallengeResponseAuthentication no`",
            dir.drop_in("10-old.conf")
        )),
        "{}",
        x.fix
    );
    assert!(
        x.fix.contains("`KbdInteractiveAuthentication yes`"),
        "{}",
        x.fix
    );
}

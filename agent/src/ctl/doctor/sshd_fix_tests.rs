//! sshd fixes name the file whose value sshd uses: sshd keeps the first
//! value it reads, so an earlier drop-in (a cloud image's
//! 50-cloud-init.conf) wins over pam-mfa.conf, and "put it in pam-mfa.conf"
//! changes nothing there.

use std::path::{Path, PathBuf};

use super::sshd::FIXED_KEYWORDS;
use super::sshd_files::global_settings;
use super::tests::{good, SSHD_T};
use super::{check_host, Facts, Finding};

/// A temporary sshd_config including `sshd_config.d/*.conf` at its top,
/// then setting `KbdInteractiveAuthentication no`, as Debian's does, with
/// the drop-ins given; removed on drop.
struct SshdConfigDir(PathBuf);

const DEBIAN_MAIN: &str = "Include {D}/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n";

impl SshdConfigDir {
    fn new(label: &str, drop_ins: &[(&str, &str)]) -> SshdConfigDir {
        SshdConfigDir::with_main(label, DEBIAN_MAIN, drop_ins)
    }

    /// `main` is sshd_config's text, `{D}` standing for its sshd_config.d.
    fn with_main(label: &str, main: &str, drop_ins: &[(&str, &str)]) -> SshdConfigDir {
        let dir = std::env::temp_dir().join(format!(
            "mfa-doctor-sshd-fix-{label}-{}",
            std::process::id()
        ));
        let d = dir.join("sshd_config.d");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            dir.join("sshd_config"),
            main.replace("{D}", &d.display().to_string()),
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
        f.sshd_global_settings = Some(global_settings(
            &self.main(),
            Path::new(&self.drop_in("pam-mfa.conf")),
            FIXED_KEYWORDS,
        ));
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
    // Removing it leaves pam-mfa.conf's yes.
    assert!(x.fix.contains(", or remove it;"), "{}", x.fix);
    // Before pam-mfa.conf is installed: still the file read first, but
    // removing the line leaves sshd's default, prohibit-password.
    let alone = SshdConfigDir::new(
        "root-alone",
        &[("50-cloud-init.conf", "PermitRootLogin prohibit-password\n")],
    );
    let mut f_alone = alone.facts();
    f_alone.sshd_root = f.sshd_root.clone();
    let x = finding(&f_alone, "sshd.permit_root_login");
    let at = format!("{}:1", alone.drop_in("50-cloud-init.conf"));
    assert!(x.fix.starts_with(&format!("{at} sets")), "{}", x.fix);
    assert!(!x.fix.contains("remove"), "{}", x.fix);
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

/// Stock Debian before the drop-in is installed: sshd_config's own
/// `KbdInteractiveAuthentication no` comes after its `Include`, so the
/// drop-in's line wins once it exists. The fix is the drop-in, not an edit
/// of the packaged sshd_config.
#[test]
fn a_setting_read_after_the_drop_in_would_be_is_fixed_in_the_drop_in() {
    let dir = SshdConfigDir::new("debian", &[]);
    let mut f = dir.facts();
    f.sshd = Some(Ok(SSHD_T.replace(
        "kbdinteractiveauthentication yes",
        "kbdinteractiveauthentication no",
    )));
    let x = finding(&f, "sshd.kbd_interactive");
    assert!(
        x.fix.starts_with(
            "put `KbdInteractiveAuthentication yes` in /etc/ssh/sshd_config.d/pam-mfa.conf (it does not exist yet: create it)"
        ),
        "{}",
        x.fix
    );
    for not in ["sshd_config:", "change it", "remove"] {
        assert!(!x.fix.contains(not), "{not}: {}", x.fix);
    }
    // The drop-in there, without the line: the same fix, and it exists.
    let dir = SshdConfigDir::new("debian-drop-in", &[("pam-mfa.conf", "UsePAM yes\n")]);
    let mut f = dir.facts();
    f.sshd = Some(Ok(SSHD_T.replace(
        "kbdinteractiveauthentication yes",
        "kbdinteractiveauthentication no",
    )));
    let x = finding(&f, "sshd.kbd_interactive");
    assert!(
        x.fix.starts_with(
            "put `KbdInteractiveAuthentication yes` in /etc/ssh/sshd_config.d/pam-mfa.conf (it exists;"
        ),
        "{}",
        x.fix
    );
}

/// A line above sshd_config's `Include` is read before the drop-in: named.
#[test]
fn a_setting_before_the_include_line_names_sshd_config() {
    let dir = SshdConfigDir::with_main(
        "above",
        "ExposeAuthInfo no\nInclude {D}/*.conf\n",
        &[("pam-mfa.conf", PAM_MFA_CONF)],
    );
    let mut f = dir.facts();
    f.sshd = Some(Ok(SSHD_T.replace("exposeauthinfo yes", "exposeauthinfo no")));
    let x = finding(&f, "sshd.expose_auth_info");
    let at = format!("{}:1", dir.main().display());
    assert!(
        x.fix.starts_with(&format!("{at} sets `ExposeAuthInfo no`, the value sshd uses (read before /etc/ssh/sshd_config.d/pam-mfa.conf")),
        "{}",
        x.fix
    );
    // Removing it leaves the drop-in's yes.
    assert!(
        x.fix
            .contains("change it there to `ExposeAuthInfo yes`, or remove it;"),
        "{}",
        x.fix
    );
    // No drop-in: removing it leaves sshd's default, no.
    let dir = SshdConfigDir::with_main(
        "above-alone",
        "ExposeAuthInfo no\nInclude {D}/*.conf\n",
        &[],
    );
    let mut f = dir.facts();
    f.sshd = Some(Ok(SSHD_T.replace("exposeauthinfo yes", "exposeauthinfo no")));
    let x = finding(&f, "sshd.expose_auth_info");
    assert!(
        x.fix
            .starts_with(&format!("{}:1 sets", dir.main().display())),
        "{}",
        x.fix
    );
    assert!(!x.fix.contains("remove"), "{}", x.fix);
}

/// The value sshd uses is pam-mfa.conf's own: it is the file to change.
#[test]
fn a_wrong_value_in_the_drop_in_itself_says_so() {
    let dir = SshdConfigDir::new("own", &[("pam-mfa.conf", "UsePAM no\nExposeAuthInfo no\n")]);
    let mut f = dir.facts();
    f.sshd = Some(Ok(SSHD_T
        .replace("usepam yes", "usepam no")
        .replace("exposeauthinfo yes", "exposeauthinfo no")));
    let drop_in = dir.drop_in("pam-mfa.conf");
    let x = finding(&f, "sshd.use_pam");
    assert!(
        x.fix.starts_with(&format!("/etc/ssh/sshd_config.d/pam-mfa.conf has the wrong value: {drop_in}:1 sets `UsePAM no`, the value sshd uses: change it to `UsePAM yes`")),
        "{}",
        x.fix
    );
    assert!(!x.fix.contains("read before"), "{}", x.fix);
    // sshd_config's `UsePAM yes` below the Include is what is left.
    assert!(x.fix.contains(", or remove it;"), "{}", x.fix);
    // ExposeAuthInfo defaults to no: removing the line does not help.
    let x = finding(&f, "sshd.expose_auth_info");
    assert!(
        x.fix.starts_with(&format!("/etc/ssh/sshd_config.d/pam-mfa.conf has the wrong value: {drop_in}:2 sets `ExposeAuthInfo no`")),
        "{}",
        x.fix
    );
    assert!(!x.fix.contains("remove"), "{}", x.fix);
}

/// No `Include` reads the drop-in: the fix adds one.
#[test]
fn a_drop_in_sshd_does_not_read_needs_the_include() {
    let dir = SshdConfigDir::with_main(
        "no-include",
        "UsePAM no\n",
        &[("pam-mfa.conf", PAM_MFA_CONF)],
    );
    let mut f = dir.facts();
    f.sshd = Some(Ok(SSHD_T.replace("usepam yes", "usepam no")));
    let x = finding(&f, "sshd.use_pam");
    assert!(
        x.fix
            .starts_with("put `UsePAM yes` in /etc/ssh/sshd_config.d/pam-mfa.conf (it exists;"),
        "{}",
        x.fix
    );
    assert!(
        x.fix.contains(
            "add `Include /etc/ssh/sshd_config.d/pam-mfa.conf` as the first line of sshd_config"
        ),
        "{}",
        x.fix
    );
}

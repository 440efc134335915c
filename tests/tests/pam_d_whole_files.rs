//! config/pam.d's sshd, sudo, sudo-i, su and login are whole files, which
//! README step 2 links and the package installs under /usr/share/pam-mfa:
//! Debian 12's stock file with pam-mfa's lines. An admin who copies one over
//! the stock file loses nothing (a cut-down sshd stack once dropped
//! pam_nologin, and users logged in while /etc/nologin said no), and
//! config/pam.d/sshd is exactly what README step 2's sed makes of the stock
//! file.

use std::path::Path;
use std::process::Command;

use pam_mfa_e2e::bins::workspace_root;
use pam_mfa_e2e::process::run_checked;
use pam_mfa_e2e::workdir::WorkDir;

/// A file's PAM lines: comments (whole or trailing) and blank lines left
/// out, runs of blanks as one.
fn stack_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn example(name: &str) -> Vec<String> {
    stack_lines(&read(&workspace_root().join("config/pam.d").join(name)))
}

/// The host's /etc/pam.d/NAME as Debian 12's package ships it, or `None`
/// (with a note) where this host's copy was changed: `dpkg --verify` names
/// a changed conffile.
fn stock(package: &str, name: &str) -> Option<String> {
    let path = format!("/etc/pam.d/{name}");
    let verify = Command::new("dpkg")
        .args(["--verify", package])
        .output()
        .expect("dpkg --verify");
    if String::from_utf8_lossy(&verify.stdout).contains(&path) || !Path::new(&path).is_file() {
        eprintln!("{path} is not {package}'s stock file on this host: not compared");
        return None;
    }
    Some(read(Path::new(&path)))
}

fn is_pam_mfa_line(line: &str) -> bool {
    line.contains("pam_mfa.so") || line.contains("pam_succeed_if.so")
}

#[test]
fn config_pam_d_sshd_is_readme_step_2_applied_to_the_stock_file() {
    let Some(stock) = stock("openssh-server", "sshd") else {
        return;
    };
    let readme = read(&workspace_root().join("README.md"));
    let sed = readme
        .lines()
        .find(|l| l.starts_with("sed -i -e 's/^@include common-auth$/auth "))
        .expect("README step 2's sed line");
    let work = WorkDir::new("pam-d-whole");
    let copy = work.write("sshd", &stock, 0o644);
    let line = sed.replace("/etc/pam.d/sshd", &copy.display().to_string());
    run_checked(Command::new("sh").arg("-c").arg(&line));
    assert_eq!(
        stack_lines(&read(&copy)),
        example("sshd"),
        "config/pam.d/sshd is not README step 2's sed applied to Debian's stock file"
    );
}

#[test]
fn config_pam_d_files_keep_every_line_of_the_stock_files() {
    for (package, name) in [
        ("sudo", "sudo"),
        ("sudo", "sudo-i"),
        ("login", "login"),
        ("util-linux", "su"),
    ] {
        let Some(stock) = stock(package, name) else {
            continue;
        };
        let kept: Vec<String> = example(name)
            .into_iter()
            .filter(|l| !is_pam_mfa_line(l))
            .collect();
        assert_eq!(
            kept,
            stack_lines(&stock),
            "config/pam.d/{name} without pam-mfa's lines is not the stock file"
        );
    }
}

/// README's sed for the NOPASSWD account lines, run as written on copies
/// of Debian's stock sudo and sudo-i: exactly the README's two lines, right
/// before `@include common-account` (after it, an expired password ends
/// the account stack before pam_mfa.so runs), and nothing else changed.
#[test]
fn readme_nopasswd_sed_adds_the_two_account_lines_before_common_account() {
    let readme = read(&workspace_root().join("README.md"));
    let sed = readme
        .lines()
        .find(|l| l.starts_with("sed -i 's/^@include common-account$/"))
        .expect("README's NOPASSWD sed line");
    let lines: Vec<&str> = readme.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.starts_with("account [success=1 default=ignore] pam_succeed_if.so"))
        .expect("README's NOPASSWD account lines");
    let shown: Vec<String> = lines[first..first + 2]
        .iter()
        .map(|l| stack_lines(l).join(""))
        .collect();
    assert_eq!(shown.len(), 2, "README's two account lines");
    let work = WorkDir::new("pam-d-nopasswd");
    let mut checked = 0;
    for name in ["sudo", "sudo-i"] {
        let Some(stock) = stock("sudo", name) else {
            continue;
        };
        checked += 1;
        let copy = work.write(name, &stock, 0o644);
        let line = sed.replace(
            "/etc/pam.d/sudo /etc/pam.d/sudo-i",
            &copy.display().to_string(),
        );
        assert_ne!(line, sed, "README's sed names /etc/pam.d/sudo and sudo-i");
        run_checked(Command::new("sh").arg("-c").arg(&line));
        let mut want = stack_lines(&stock);
        let at = want
            .iter()
            .position(|l| l == "@include common-account")
            .expect("stock file includes common-account");
        want.splice(at..at, shown.iter().cloned());
        assert_eq!(stack_lines(&read(&copy)), want, "{name}");
    }
    assert!(
        checked > 0,
        "no stock /etc/pam.d/sudo or sudo-i on this host: README's sed was not run"
    );
}

/// README's polkit step, run as written on stand-ins for /etc/pam.d and
/// /usr/lib/pam.d: the vendor file is copied (its mode kept) when /etc/pam.d
/// has none, and an /etc/pam.d/polkit-1 already there is left as it is.
#[test]
fn readme_polkit_copy_takes_the_vendor_file_only_when_etc_has_none() {
    use std::os::unix::fs::PermissionsExt;
    let readme = read(&workspace_root().join("README.md"));
    let command = readme
        .lines()
        .find(|l| l.starts_with("[ -e /etc/pam.d/polkit-1 ] || cp -p "))
        .expect("README's polkit copy line");
    let work = WorkDir::new("readme-polkit-copy");
    let (etc, vendor) = (work.join("etc-pam.d"), work.join("usr-lib-pam.d"));
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::create_dir_all(&vendor).unwrap();
    let vendor_text = "#%PAM-1.0\n@include common-auth\n@include common-account\n";
    std::fs::write(vendor.join("polkit-1"), vendor_text).unwrap();
    std::fs::set_permissions(
        vendor.join("polkit-1"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let line = command
        .replace("/etc/pam.d/", &format!("{}/", etc.display()))
        .replace("/usr/lib/pam.d/", &format!("{}/", vendor.display()));
    assert!(
        !line.contains("/etc/pam.d/") && !line.contains("/usr/lib/pam.d/"),
        "{line}"
    );
    run_checked(Command::new("sh").args(["-c", &line]));
    assert_eq!(read(&etc.join("polkit-1")), vendor_text);
    let mode = std::fs::metadata(etc.join("polkit-1"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640, "the vendor file's mode");
    // Already there (edited): the same line changes nothing.
    let edited = format!("{vendor_text}auth required pam_mfa.so\n");
    std::fs::write(etc.join("polkit-1"), &edited).unwrap();
    run_checked(Command::new("sh").args(["-c", &line]));
    assert_eq!(read(&etc.join("polkit-1")), edited);
}

/// README's polkit uninstall line, run as written on stand-ins for
/// /etc/pam.d and /usr/lib/pam.d: the copy the install line made, its
/// pam_mfa.so line taken out again, is removed (the vendor file is read
/// again); a copy with other changes, or an /etc/pam.d/polkit-1 with no
/// vendor file beside it (polkit's own, before 122), stays.
#[test]
fn readme_polkit_uninstall_removes_only_our_unchanged_copy() {
    let readme = read(&workspace_root().join("README.md"));
    let find = |start: &str| -> String {
        let found: Vec<&str> = readme.lines().filter(|l| l.starts_with(start)).collect();
        assert_eq!(found.len(), 1, "README.md lines starting with {start:?}");
        found[0].to_string()
    };
    let copy = find("[ -e /etc/pam.d/polkit-1 ] || cp -p ");
    let remove = find("cmp -s /etc/pam.d/polkit-1 ");
    let work = WorkDir::new("readme-polkit-uninstall");
    let (etc, vendor) = (work.join("etc-pam.d"), work.join("usr-lib-pam.d"));
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::create_dir_all(&vendor).unwrap();
    let on_stand_ins = |line: &str| {
        let line = line
            .replace("/etc/pam.d/", &format!("{}/", etc.display()))
            .replace("/usr/lib/pam.d/", &format!("{}/", vendor.display()));
        assert!(
            !line.contains("/etc/pam.d/") && !line.contains("/usr/lib/pam.d/"),
            "{line}"
        );
        // `cmp` failing is the line's "keep it": only its effect counts.
        Command::new("sh").args(["-c", &line]).status().unwrap();
    };
    let vendor_text = "#%PAM-1.0\n@include common-auth\n@include common-account\n";
    let mfa = "auth required pam_mfa.so\n";
    let ours = etc.join("polkit-1");

    // Installed as README says, then the pam_mfa.so line taken out.
    std::fs::write(vendor.join("polkit-1"), vendor_text).unwrap();
    on_stand_ins(&copy);
    std::fs::write(&ours, format!("{vendor_text}{mfa}")).unwrap();
    std::fs::write(&ours, vendor_text).unwrap();
    on_stand_ins(&remove);
    assert!(!ours.exists(), "the unchanged copy stays");
    assert_eq!(read(&vendor.join("polkit-1")), vendor_text);

    // The pam_mfa.so line still in, or another change: kept.
    for kept in [
        format!("{vendor_text}{mfa}"),
        format!("{vendor_text}auth required pam_faillock.so\n"),
    ] {
        std::fs::write(&ours, &kept).unwrap();
        on_stand_ins(&remove);
        assert_eq!(read(&ours), kept);
    }

    // No vendor file: /etc/pam.d/polkit-1 is polkit's own, kept.
    std::fs::remove_file(vendor.join("polkit-1")).unwrap();
    std::fs::write(&ours, vendor_text).unwrap();
    on_stand_ins(&remove);
    assert_eq!(read(&ours), vendor_text);
}

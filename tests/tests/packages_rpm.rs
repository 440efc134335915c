//! The .rpm: what `rpm -qlp`, `--scripts`, `--requires` and `--configfiles`
//! say; the files and modes an `rpm --root` install lays down in a scratch
//! root; and the scriptlets run for real (chrooted by rpm) in a copy of the
//! debootstrap root: erase is refused while a hand-written /etc/pam.d line
//! still loads pam_mfa.so, and goes through, cleaning up, once it is gone.
//!
//! Needs root, rpm (tests/install-deps.sh) and `make rpm`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pam_mfa_e2e::packaging::built_rpm;
use pam_mfa_e2e::packaging::debian_root::{copy_root, pristine_root};
use pam_mfa_e2e::process::{run_checked, run_with_timeout, Finished};
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::workdir::WorkDir;

/// Every file the package holds, with its mode.
const FILES: [(&str, u32); 29] = [
    ("/etc/pam-mfa/agent.yaml", 0o644),
    ("/usr/bin/mfactl", 0o755),
    ("/usr/lib/systemd/system/mfa-agent.service", 0o644),
    ("/usr/lib/systemd/system/pam-mfa-publish.service", 0o644),
    ("/usr/lib/systemd/system/pam-mfa-publish.timer", 0o644),
    ("/usr/lib/tmpfiles.d/pam-mfa.conf", 0o644),
    ("/usr/lib64/security/pam_mfa.so", 0o755),
    ("/usr/sbin/mfa-agent", 0o755),
    ("/usr/share/doc/pam-mfa/README.md", 0o644),
    ("/usr/share/doc/pam-mfa/examples/agent.yaml", 0o644),
    ("/usr/share/doc/pam-mfa/examples/bundle.yaml", 0o644),
    ("/usr/share/man/man1/mfactl.1.gz", 0o644),
    ("/usr/share/man/man5/agent.yaml.5.gz", 0o644),
    ("/usr/share/man/man8/mfa-agent.8.gz", 0o644),
    ("/usr/share/man/man8/pam_mfa.8.gz", 0o644),
    ("/usr/share/pam-configs/pam-mfa", 0o644),
    // What README's commands copy, outside /usr/share/doc (minimized images
    // leave it out).
    ("/usr/share/pam-mfa/agent.yaml", 0o644),
    ("/usr/share/pam-mfa/pam.d/gdm-password", 0o644),
    ("/usr/share/pam-mfa/pam.d/login", 0o644),
    ("/usr/share/pam-mfa/pam.d/polkit-1", 0o644),
    ("/usr/share/pam-mfa/pam.d/sshd", 0o644),
    ("/usr/share/pam-mfa/pam.d/su", 0o644),
    ("/usr/share/pam-mfa/pam.d/sudo", 0o644),
    ("/usr/share/pam-mfa/pam.d/sudo-i", 0o644),
    ("/usr/share/pam-mfa/publish.env", 0o644),
    ("/usr/share/pam-mfa/sshd_config.d/pam-mfa.conf", 0o644),
    ("/usr/share/pam-mfa/web/approval.css", 0o644),
    ("/usr/share/pam-mfa/web/approval.js", 0o644),
    ("/usr/share/pam-mfa/web/index.html", 0o644),
];

fn rpm(args: &[&str]) -> String {
    run_checked(Command::new("rpm").args(args))
}

fn rpm_try(args: &[&str]) -> Finished {
    run_with_timeout(Command::new("rpm").args(args), Duration::from_secs(120))
}

fn rpm_files() -> Vec<&'static str> {
    // RPM systems have no pam-auth-update: the profile is Debian-only.
    FILES
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| !p.starts_with("/usr/share/pam-configs/"))
        .collect()
}

#[test]
fn rpm_metadata_paths_scripts_and_requires() {
    require_root!();
    let pkg = built_rpm();
    let pkg = pkg.to_str().unwrap();

    let mut listed: Vec<String> = rpm(&["-qlp", pkg]).lines().map(str::to_string).collect();
    listed.sort();
    let mut want: Vec<String> = rpm_files().iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(listed, want, "rpm -qlp");

    let config = rpm(&["-qp", "--configfiles", pkg]);
    assert_eq!(config.trim(), "/etc/pam-mfa/agent.yaml", "config files");
    // %config(noreplace) (flags c and n): an upgrade never replaces the
    // admin's edited agent.yaml (the new default goes to .rpmnew).
    let flags = rpm(&["-qp", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]", pkg]);
    let agent_yaml = flags
        .lines()
        .find(|l| l.starts_with("/etc/pam-mfa/agent.yaml "))
        .unwrap_or_else(|| panic!("no agent.yaml in:\n{flags}"));
    let agent_yaml_flags = agent_yaml.split_whitespace().nth(1).unwrap_or("");
    assert!(
        agent_yaml_flags.contains('c') && agent_yaml_flags.contains('n'),
        "agent.yaml must be %config(noreplace): {agent_yaml}"
    );
    let arch = rpm(&["-qp", "--qf", "%{NAME} %{ARCH}", pkg]);
    assert_eq!(arch, "pam-mfa x86_64");

    let scripts = rpm(&["-qp", "--scripts", pkg]);
    for part in [
        "postinstall scriptlet",
        "preuninstall scriptlet",
        "postuninstall scriptlet",
    ] {
        assert!(scripts.contains(part), "no {part}:\n{scripts}");
    }
    assert!(
        scripts.contains("refusing to remove pam_mfa.so"),
        "{scripts}"
    );
    // The scriptlets may read /etc/pam.d but never write it.
    for line in scripts.lines().filter(|l| l.contains("/etc/pam.d")) {
        let writes = [
            "sed -i",
            "> /etc/pam.d",
            ">/etc/pam.d",
            "tee ",
            "rm ",
            "mv ",
            "cp ",
        ];
        assert!(
            !writes.iter().any(|w| line.contains(w)),
            "a scriptlet writes to /etc/pam.d: {line}"
        );
    }

    let requires = rpm(&["-qp", "--requires", pkg]);
    for need in [
        "libpam.so.0()(64bit)",
        "libc.so.6()(64bit)",
        // the PIV client (agent/src/piv/card/) links libpcsclite: the
        // library only, not pcscd
        "libpcsclite.so.1()(64bit)",
        "pam",
        "systemd",
        "/bin/sh",
    ] {
        assert!(
            requires.lines().any(|l| l.trim() == need),
            "requires lacks {need}:\n{requires}"
        );
    }
    for bad in ["libssl", "libcrypto", "target/"] {
        assert!(
            !requires.contains(bad),
            "unexpected requirement {bad}:\n{requires}"
        );
    }
}

#[test]
fn rpm_installs_into_a_scratch_root_with_the_right_modes() {
    require_root!();
    let pkg = built_rpm();
    let work = WorkDir::new("pkg-rpm-scratch");
    let root = work.join("root");
    std::fs::create_dir(&root).unwrap();
    let r = root.to_str().unwrap();
    rpm(&["--root", r, "--initdb"]);
    // An empty root has no /bin/sh for the scriptlets (those run below).
    rpm(&[
        "--root",
        r,
        "--nodeps",
        "--noscripts",
        "-i",
        pkg.to_str().unwrap(),
    ]);
    for (path, mode) in FILES.iter().filter(|(p, _)| rpm_files().contains(p)) {
        let p = root.join(path.trim_start_matches('/'));
        let m = std::fs::symlink_metadata(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(m.is_file(), "{path} is not a regular file");
        assert_eq!(m.permissions().mode() & 0o7777, *mode, "mode of {path}");
        assert_eq!((m.uid(), m.gid()), (0, 0), "owner of {path}");
    }
    // The module is a shared object that exports the PAM entry points.
    let syms = run_checked(
        Command::new("nm")
            .args(["-D", "--defined-only"])
            .arg(root.join("usr/lib64/security/pam_mfa.so")),
    );
    for sym in ["pam_sm_authenticate", "pam_sm_acct_mgmt"] {
        assert!(syms.contains(sym), "pam_mfa.so does not export {sym}");
    }
    let q = rpm(&["--root", r, "-q", "pam-mfa"]);
    assert!(q.starts_with("pam-mfa-"), "{q}");
}

#[test]
fn rpm_scriptlets_refuse_to_strand_a_pam_stack() {
    require_root!();
    let pkg = built_rpm();
    let pristine = pristine_root();
    let work = WorkDir::new("pkg-rpm-scripts");
    let root = work.join("root");
    copy_root(&pristine, &root);
    let r = root.to_str().unwrap();
    let pkg = pkg.to_str().unwrap();
    rpm(&["--root", r, "--initdb"]);
    let install = rpm_try(&["--root", r, "--nodeps", "-i", pkg]);
    assert!(
        install.success(),
        "rpm -i: {}\n{}",
        install.stdout,
        install.stderr
    );
    // %post: the state directory with its mode; no policy directory (an
    // empty one would load as an empty, allow-all bundle).
    assert!(!root.join("etc/pam-mfa/policy.d").exists());
    assert_mode(&root, "var/lib/pam-mfa", 0o700);
    assert_eq!(
        pam_references(&root),
        Vec::<String>::new(),
        "install touched /etc/pam.d"
    );

    // The admin adds pam_mfa.so to sshd's stack by hand: erase is refused.
    let sshd = root.join("etc/pam.d/sshd");
    let stock = std::fs::read_to_string(&sshd).unwrap();
    std::fs::write(&sshd, format!("auth required pam_mfa.so\n{stock}")).unwrap();
    let refused = rpm_try(&["--root", r, "--nodeps", "-e", "pam-mfa"]);
    assert!(
        !refused.success(),
        "erase must be refused:\n{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("/etc/pam.d/sshd"),
        "{}",
        refused.stderr
    );
    assert!(
        root.join("usr/lib64/security/pam_mfa.so").exists(),
        "the module must stay"
    );
    rpm(&["--root", r, "-q", "pam-mfa"]);

    // Without the line the erase goes through and cleans up.
    std::fs::write(&sshd, &stock).unwrap();
    let erased = rpm_try(&["--root", r, "--nodeps", "-e", "pam-mfa"]);
    assert!(
        erased.success(),
        "rpm -e: {}\n{}",
        erased.stdout,
        erased.stderr
    );
    for gone in [
        "usr/lib64/security/pam_mfa.so",
        "usr/sbin/mfa-agent",
        "var/lib/pam-mfa",
        "etc/pam-mfa",
    ] {
        assert!(!root.join(gone).exists(), "{gone} left after erase");
    }
}

fn assert_mode(root: &Path, rel: &str, mode: u32) {
    let m = std::fs::metadata(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert_eq!(m.permissions().mode() & 0o7777, mode, "mode of {rel}");
}

/// Lines of the root's /etc/pam.d files that load pam_mfa.so.
fn pam_references(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root.join("etc/pam.d")).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        for l in text
            .lines()
            .filter(|l| l.contains("pam_mfa.so") && !l.trim_start().starts_with('#'))
        {
            out.push(format!("{}: {l}", e.path().display()));
        }
    }
    out
}

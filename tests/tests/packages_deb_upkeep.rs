//! A deb-installed host kept up, in a booted Debian 12 container:
//!
//! - upgrades never replace the admin's /etc/pam-mfa/agent.yaml: not from a
//!   version that shipped it as a conffile (the package as it was), nor to a
//!   newer version whose default agent.yaml changed, installed as README
//!   says with apt-get and dpkg told to take every new conffile
//!   (`--force-confnew`, which is what answering Y to dpkg's conffile prompt
//!   does); the agent keeps its node labels and so its decisions, and purge
//!   still removes the file;
//! - README's emptied policy.d: the running agent keeps its policy, and
//!   restarted, it starts from its last known good copy in /var/lib/pam-mfa
//!   (`from cache: yes`, the error naming policy.d) and decides as before;
//! - the image is minimized as Ubuntu's cloud images are (dpkg leaves out
//!   /usr/share/doc and /usr/share/man), and README's step-1 copy of the
//!   sshd drop-in still finds it.
//!
//! The older and newer packages are the built one unpacked and packed again
//! (`dpkg-deb -R`, `-b`) with another version, in the container.
//! Needs root, debootstrap, systemd-container and `make deb`, as
//! packages_deb.rs.

use std::time::Duration;

use pam_mfa_e2e::bins::workspace_root;
use pam_mfa_e2e::packaging::built_deb;
use pam_mfa_e2e::packaging::container::Container;
use pam_mfa_e2e::packaging::debian_root::{copy_root, pristine_root};
use pam_mfa_e2e::process::wait_until;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::workdir::WorkDir;

/// The admin's agent.yaml (README's, for prod3).
const AGENT_YAML: &str = "node:\n  name: prod3\n  labels: { env: prod }\ncluster:\n  source: file:///etc/pam-mfa/policy.d\n";

/// What Ubuntu's minimized images put in /etc/dpkg/dpkg.cfg.d/excludes.
const MINIMIZED: &str = "path-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\npath-exclude=/usr/share/man/*\n";

/// A fresh copy of the Debian root, minimized, with the .deb in /root,
/// booted.
fn booted(work: &WorkDir) -> Container {
    let root = work.join("root");
    copy_root(&pristine_root(), &root);
    std::fs::write(root.join("etc/dpkg/dpkg.cfg.d/excludes"), MINIMIZED).expect("excludes");
    std::fs::copy(built_deb(), root.join("root/pam-mfa.deb")).expect("copy the .deb in");
    Container::boot(&root, &work.join("console.log"))
}

/// /root/pam-mfa.deb packed again as `out` with version `version`, after
/// `edit` ran in its unpacked tree.
fn repack(c: &Container, out: &str, version: &str, edit: &str) {
    c.sh(&format!(
        "rm -rf /root/repack && dpkg-deb -R /root/pam-mfa.deb /root/repack && cd /root/repack \
         && sed -i 's/^Version: .*/Version: {version}/' DEBIAN/control && {edit} \
         && dpkg-deb -b /root/repack {out} >/dev/null && rm -rf /root/repack"
    ));
}

/// The package as it was before this version: the same files, but
/// /etc/pam-mfa/agent.yaml shipped, as a conffile, with the default.
fn make_conffile_version(c: &Container) {
    repack(
        c,
        "/root/pam-mfa-conffile.deb",
        "0.0.1-1",
        "if [ -f usr/share/pam-mfa/agent.yaml ]; then install -D -m 0644 usr/share/pam-mfa/agent.yaml etc/pam-mfa/agent.yaml; fi \
         && { grep -qx /etc/pam-mfa/agent.yaml DEBIAN/conffiles 2>/dev/null || echo /etc/pam-mfa/agent.yaml >> DEBIAN/conffiles; }",
    );
}

/// A newer version whose default agent.yaml changed, wherever the package
/// keeps it (so an agent.yaml shipped as a conffile would make dpkg ask).
fn make_newer_version(c: &Container) {
    let version = c.sh("dpkg-deb -f /root/pam-mfa.deb Version");
    repack(
        c,
        "/root/pam-mfa-newer.deb",
        &format!("{}+upkeep1", version.trim()),
        "for f in etc/pam-mfa/agent.yaml usr/share/pam-mfa/agent.yaml; do if [ -f $f ]; then printf '\\n# a default changed by the newer version\\n' >> $f; fi; done",
    );
}

/// The admin's file, checked and reloaded as README says, and a policy.
fn configure_prod3(c: &Container) {
    c.sh(&format!(
        "mfactl example-policy > /root/bundle.yaml && install -d -m 0755 /etc/pam-mfa/policy.d \
         && install -m 0644 /root/bundle.yaml /etc/pam-mfa/policy.d/bundle.yaml \
         && printf '%s' '{AGENT_YAML}' > /etc/pam-mfa/agent.yaml \
         && mfactl check /etc/pam-mfa/agent.yaml && systemctl reload mfa-agent"
    ));
}

/// The running agent decides for prod3 [env=prod]: its status, and jerry's
/// sudo allowed there by the example policy (denied on a node with no labels).
fn assert_decides_for_prod3(c: &Container, when: &str) {
    let status: serde_json::Value =
        serde_json::from_str(&c.sh("mfactl status --json")).expect("status --json");
    assert!(
        status["node"] == "prod3" && status["labels"]["env"] == "prod",
        "{when}: the agent lost its node or labels: {status}\n{}",
        c.journal("mfa-agent")
    );
    let explain: serde_json::Value =
        serde_json::from_str(&c.sh("mfactl explain --login jerry --service sudo --json"))
            .expect("explain --json");
    assert_eq!(explain["access"], "allow", "{when}: {explain}");
}

fn checksum(c: &Container) -> String {
    c.sh("sha256sum /etc/pam-mfa/agent.yaml")
}

fn main_pid(c: &Container) -> String {
    c.sh("systemctl show -p MainPID --value mfa-agent")
        .trim()
        .to_string()
}

#[test]
fn upgrades_keep_the_admins_agent_yaml_on_a_minimized_image() {
    require_root!();
    let work = WorkDir::new("pkg-deb-upkeep");
    let c = booted(&work);
    make_conffile_version(&c);
    make_newer_version(&c);

    // The version that shipped agent.yaml as a conffile, edited by the admin.
    c.sh("dpkg -i /root/pam-mfa-conffile.deb && systemctl is-active mfa-agent");
    let conffiles = c.sh("dpkg-query -W -f='${Conffiles}' pam-mfa");
    assert!(conffiles.contains("/etc/pam-mfa/agent.yaml"), "{conffiles}");
    configure_prod3(&c);
    assert_decides_for_prod3(&c, "before any upgrade");
    let edited = checksum(&c);

    // Upgraded to this version, non-interactively: the file is kept as is,
    // and dpkg no longer holds it as a live conffile (no prompt ever again).
    let pid = main_pid(&c);
    c.sh("apt-get install -y /root/pam-mfa.deb");
    assert_eq!(checksum(&c), edited, "the upgrade changed agent.yaml");
    assert_ne!(main_pid(&c), pid, "the upgrade restarts the agent");
    assert_decides_for_prod3(&c, "after the upgrade from the conffile version");
    let conffiles = c.sh("dpkg-query -W -f='${Conffiles}' pam-mfa");
    assert!(
        conffiles
            .lines()
            .filter(|l| l.contains("/etc/pam-mfa/agent.yaml"))
            .all(|l| l.trim_end().ends_with(" obsolete")),
        "agent.yaml is still a conffile: {conffiles}"
    );

    // A newer version with a changed default, dpkg told to take new
    // conffiles (answering Y to its prompt): the admin's file stays.
    let pid = main_pid(&c);
    c.sh("apt-get install -y -o Dpkg::Options::=--force-confnew /root/pam-mfa-newer.deb");
    assert_eq!(checksum(&c), edited, "--force-confnew replaced agent.yaml");
    c.sh("grep -q 'a default changed by the newer version' /usr/share/pam-mfa/agent.yaml");
    assert_ne!(main_pid(&c), pid, "the upgrade restarts the agent");
    assert_decides_for_prod3(&c, "after an upgrade with --force-confnew");

    // Minimized: no /usr/share/doc/pam-mfa/examples, and README's step 1
    // copies the sshd drop-in all the same.
    c.sh("test ! -e /usr/share/doc/pam-mfa/examples/agent.yaml && test ! -e /usr/share/man/man8/pam_mfa.8.gz");
    c.sh(&readme_line(
        "cp /usr/share/pam-mfa/sshd_config.d/pam-mfa.conf ",
    ));
    c.sh("cmp /usr/share/pam-mfa/sshd_config.d/pam-mfa.conf /etc/ssh/sshd_config.d/pam-mfa.conf && rm /etc/ssh/sshd_config.d/pam-mfa.conf && systemctl reload ssh");

    // Purge removes it (the admin's policy stays).
    c.sh("apt-get purge -y pam-mfa");
    c.sh("test ! -e /etc/pam-mfa/agent.yaml && test -f /etc/pam-mfa/policy.d/bundle.yaml");

    // The conffile version never edited, then this one: a default
    // agent.yaml is there, and purge removes it.
    c.sh("dpkg -i /root/pam-mfa-conffile.deb && dpkg -i /root/pam-mfa.deb");
    c.sh("cmp /usr/share/pam-mfa/agent.yaml /etc/pam-mfa/agent.yaml && systemctl is-active mfa-agent");
    c.sh("apt-get purge -y pam-mfa && test ! -e /etc/pam-mfa/agent.yaml");

    // A first install makes it from the default; a reinstall after the
    // admin edited it keeps the edit.
    c.sh("dpkg -i /root/pam-mfa.deb && cmp /usr/share/pam-mfa/agent.yaml /etc/pam-mfa/agent.yaml");
    configure_prod3(&c);
    let edited = checksum(&c);
    c.sh("dpkg -i /root/pam-mfa.deb");
    assert_eq!(checksum(&c), edited, "a reinstall changed agent.yaml");
    assert_decides_for_prod3(&c, "after a reinstall");

    policy_d_emptied_keeps_the_policy_across_a_restart(&c);
}

/// README: an emptied policy.d leaves the running agent on its last good
/// policy, and a restart starts from its last known good copy. (Before a
/// `file://` source kept that copy, `mfactl status` said `at restart: NO
/// POLICY` here and the restarted agent had none: every login refused.)
fn policy_d_emptied_keeps_the_policy_across_a_restart(c: &Container) {
    c.sh("mv /etc/pam-mfa/policy.d/bundle.yaml /root/bundle.away");
    let mut status = String::new();
    let refused = wait_until(Duration::from_secs(30), Duration::from_millis(200), || {
        status = c.sh("mfactl status");
        status.contains("  last error:      /etc/pam-mfa/policy.d: no *.yaml")
    });
    assert!(
        refused,
        "mfactl status after policy.d was emptied:\n{status}"
    );
    assert!(
        !status.contains("at restart:"),
        "the copy is saved:\n{status}"
    );
    assert_decides_for_prod3(c, "with policy.d emptied, before a restart");
    c.sh("test -f /var/lib/pam-mfa/last-known-good.json");
    c.sh("systemctl restart mfa-agent");
    let status = c.sh("mfactl status");
    assert!(
        status.contains("  from cache:      yes")
            && status.contains("  last error:      /etc/pam-mfa/policy.d: no *.yaml")
            && !status.contains("policy revision: (none loaded"),
        "after the restart:\n{status}"
    );
    assert_decides_for_prod3(c, "with policy.d emptied, after a restart");
    c.sh("mv /root/bundle.away /etc/pam-mfa/policy.d/bundle.yaml");
    let mut status = String::new();
    let back = wait_until(Duration::from_secs(30), Duration::from_millis(200), || {
        status = c.sh("mfactl status");
        status.contains("  last error:      none") && !status.contains("from cache:")
    });
    assert!(back, "the bundle put back was not loaded:\n{status}");
    assert_decides_for_prod3(c, "with the bundle back");
}

/// The one line of README.md that starts with `start`.
fn readme_line(start: &str) -> String {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let found: Vec<&str> = readme.lines().filter(|l| l.starts_with(start)).collect();
    assert_eq!(found.len(), 1, "README.md lines starting with {start:?}");
    found[0].to_string()
}

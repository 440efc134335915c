//! The .deb as an admin meets it: installed with dpkg into a Debian 12 root
//! made by debootstrap and booted with systemd-nspawn (a real PID 1 systemd);
//! the agent comes up through sd_notify under the hardened unit; sshd and
//! PAM are set up as README says (agent.yaml reloaded, not restarted; the
//! sshd drop-in with `PermitRootLogin yes`, sshd reloaded; `mfactl doctor`
//! finds the missing sshd settings before the drop-in and no error after);
//! a registered sk key logs in with its touch, root's login included (with
//! Debian's default prohibit-password sshd aborted it), and a plain key is
//! refused on the prod-labelled node; a bad agent.yaml is refused on reload
//! with its place and the running one stays; an upgrade leaves
//! /etc/pam.d alone, and with an agent.yaml the agent would refuse leaves
//! the running agent serving; removal is refused while a hand-written PAM line still
//! loads the module; after the README's undo steps the package purges and
//! logins still work.
//!
//! Needs root, debootstrap and systemd-container (tests/install-deps.sh) and
//! `make deb`. The debootstrap root is cached in /var/cache/pam-mfa-tests
//! (`$PAM_MFA_PKGTEST_CACHE`); each run boots a fresh copy of it.

#[path = "packages_deb/host.rs"]
mod host;
#[path = "packages_deb/install.rs"]
mod install;
#[path = "packages_deb/logins.rs"]
mod logins;
#[path = "packages_deb/node.rs"]
mod node;
#[path = "packages_deb/upgrade.rs"]
mod upgrade;

use std::time::Instant;

use pam_mfa_e2e::packaging::built_deb;
use pam_mfa_e2e::packaging::container::Container;
use pam_mfa_e2e::packaging::debian_root::{copy_root, pristine_root};
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::workdir::WorkDir;

use host::Host;

/// README's /etc/pam-mfa/agent.yaml for a prod node.
const AGENT_YAML: &str = "node:\n  name: prod3\n  id: 5f0e8a3c-2b1d-4c6e-9f7a-8d3b2c1e0f4a\n  labels: { env: prod }\ncluster:\n  source: file:///etc/pam-mfa/policy.d\nsshd:\n  pubkey_auth_options: [touch-required]\n";

/// The one command line of README.md that starts with `start` (its
/// /etc/pam.d/sshd edit and undo are run here as a reader copies them).
fn readme_command(start: &str) -> String {
    let readme = std::fs::read_to_string(pam_mfa_e2e::bins::workspace_root().join("README.md"))
        .expect("README.md");
    let found: Vec<&str> = readme.lines().filter(|l| l.starts_with(start)).collect();
    assert_eq!(
        found.len(),
        1,
        "README.md lines starting with {start:?}: {found:?}"
    );
    found[0].to_string()
}

/// README's /etc/pam.d/sshd change: `auth required pam_mfa.so` replaces
/// `@include common-auth`; `account required pam_mfa.so` goes right
/// before `@include common-account`, `session required pam_mfa.so` follows
/// `@include common-session`.
fn edit_sshd_pam() -> String {
    readme_command("sed -i -e 's/^@include common-auth$/")
}

/// README's uninstall block, from its sed to its `fi`: the sshd stack put
/// back, then (only if that worked) the drop-in removed, sshd reloaded and
/// the package purged; `-y` added, as no one is there to answer apt-get.
fn readme_uninstall() -> String {
    let readme = std::fs::read_to_string(pam_mfa_e2e::bins::workspace_root().join("README.md"))
        .expect("README.md");
    let start = "sed -i -E -e 's/^[[:space:]]*auth";
    let at = readme.find(start).expect("README.md's uninstall block");
    let end = at
        + readme[at..]
            .find("\nfi\n")
            .expect("the uninstall block's fi")
        + 3;
    let block = &readme[at..end];
    assert_eq!(
        block.matches("apt-get purge -y pam-mfa").count(),
        1,
        "{block}"
    );
    block.to_string()
}

#[test]
fn deb_installs_into_a_booted_debian_and_gates_ssh() {
    require_root!();
    let started = Instant::now();
    let deb = built_deb();
    let pristine = pristine_root();
    let after_root = started.elapsed();

    let work = WorkDir::new("pkg-deb");
    let root = work.join("root");
    copy_root(&pristine, &root);
    // Not /tmp: the booted container mounts a tmpfs there.
    std::fs::copy(&deb, root.join("root/pam-mfa.deb")).expect("copy the .deb in");
    let c = Container::boot(&root, &work.join("console.log"));
    let booted = started.elapsed();

    install::installs_and_serves(&c);
    let multiarch = install::puts_its_files_in_place(&c);
    let person = node::prod_node(&c, &root, &work);
    node::sshd_as_readme_says(&c);
    let shim = c.ssh_shim_dir(&work.join("shim"));
    let host = Host {
        shim_path: format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", shim.display()),
        c,
        work,
        user: person.user.clone(),
    };
    logins::by_key(&host, &person.sk, &person.plain);
    logins::sudo_with_a_forwarded_agent(&host, &person.sk);
    upgrade::leaves_a_working_host_alone(&host, &person.sk);
    upgrade::removal_and_purge(&host, &person.sk, &person.plain, &multiarch);

    eprintln!(
        "packages_deb: root ready in {:.1?}, booted at {:.1?}, whole test {:.1?}",
        after_root,
        booted,
        started.elapsed()
    );
}

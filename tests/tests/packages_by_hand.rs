//! README's "Without the packages" block, run as written (`sh -e`, from a
//! copy of this directory with the built programs in target/release) in a
//! booted Debian 12 root: the agent runs, every file the .deb installs
//! outside its documentation (/usr/share/doc/pam-mfa) is in place, man
//! pages included (uncompressed), with /etc/pam-mfa/agent.yaml made from
//! the default; README's later lines that use those files (step 1's copy of
//! the sshd drop-in, the publisher's publish.env, its units) work as on a
//! packaged host; and running the block again keeps an edited agent.yaml.
//!
//! Needs root, debootstrap, systemd-container, `cargo build --workspace`
//! and `make deb` (for the list of the deb's files).

use std::path::Path;
use std::process::Command;

use pam_mfa_e2e::bins::{self, workspace_root};
use pam_mfa_e2e::packaging::built_deb;
use pam_mfa_e2e::packaging::container::Container;
use pam_mfa_e2e::packaging::debian_root::{copy_root, pristine_root};
use pam_mfa_e2e::process::run_checked;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::workdir::WorkDir;

/// The README block that installs the built module by hand.
fn by_hand_block() -> String {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let at = readme
        .find("\n```\ninstall -m 0644 target/release/libpam_mfa.so ")
        .expect("README.md's \"Without the packages\" block")
        + 5;
    let end = at + readme[at..].find("\n```\n").expect("the block's end") + 1;
    readme[at..end].to_string()
}

/// The one line of README.md that starts with `start`.
fn readme_line(start: &str) -> String {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let found: Vec<&str> = readme.lines().filter(|l| l.starts_with(start)).collect();
    assert_eq!(found.len(), 1, "README.md lines starting with {start:?}");
    found[0].to_string()
}

/// What `make release` and this directory give the block, in `src`.
fn stage_checkout(src: &Path) {
    for dir in ["packaging", "config", "web"] {
        run_checked(
            Command::new("cp")
                .arg("-a")
                .arg(workspace_root().join(dir))
                .arg(src),
        );
    }
    let release = src.join("target/release");
    std::fs::create_dir_all(&release).unwrap();
    for bin in [bins::pam_module(), bins::mfa_agent(), bins::mfactl()] {
        let bin = bins::require(&bin);
        std::fs::copy(bin, release.join(bin.file_name().unwrap())).unwrap();
    }
}

/// The deb's regular files, but its documentation (`dpkg-deb -c`).
fn deb_files(deb: &Path) -> Vec<String> {
    run_checked(Command::new("dpkg-deb").arg("-c").arg(deb))
        .lines()
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| l.split_whitespace().last())
        .map(|p| p.trim_start_matches('.').to_string())
        .filter(|p| !p.starts_with("/usr/share/doc/"))
        .collect()
}

#[test]
fn readme_by_hand_install_puts_in_place_what_the_deb_does() {
    require_root!();
    let block = by_hand_block();
    let deb = built_deb();
    let work = WorkDir::new("pkg-by-hand");
    let root = work.join("root");
    copy_root(&pristine_root(), &root);
    let src = root.join("root/pam-mfa");
    std::fs::create_dir_all(&src).unwrap();
    stage_checkout(&src);
    std::fs::write(src.join("by-hand.sh"), &block).unwrap();
    let c = Container::boot(&root, &work.join("console.log"));

    let run = c.run(
        &["sh", "-c", "cd /root/pam-mfa && exec sh -e ./by-hand.sh"],
        120,
    );
    assert!(
        run.success(),
        "the block failed ({:?}):\n{}\n{}\n{block}",
        run.code,
        run.stdout,
        run.stderr
    );
    c.sh("systemctl is-active mfa-agent && test -S /run/pam-mfa/agent.sock && mfactl status >/dev/null");

    let missing: Vec<String> = deb_files(&deb)
        .into_iter()
        .filter(|p| {
            let at = root.join(p.trim_start_matches('/'));
            let plain = p
                .strip_suffix(".gz")
                .map(|p| root.join(p.trim_start_matches('/')));
            !at.is_file() && !plain.is_some_and(|p| p.is_file())
        })
        .collect();
    assert_eq!(
        missing,
        Vec::<String>::new(),
        "the deb installs these, the README block does not"
    );
    c.sh("cmp /usr/share/pam-mfa/agent.yaml /etc/pam-mfa/agent.yaml");

    // The later lines that use what the block installed.
    c.sh(&readme_line(
        "cp /usr/share/pam-mfa/sshd_config.d/pam-mfa.conf ",
    ));
    c.sh(&readme_line(
        "install -m 0600 /usr/share/pam-mfa/publish.env ",
    ));
    c.sh("systemd-analyze verify --man=no /usr/lib/systemd/system/pam-mfa-publish.service /usr/lib/systemd/system/pam-mfa-publish.timer");

    // Again, after the admin wrote agent.yaml: kept.
    c.sh("printf 'node:\\n  name: prod3\\n  labels: { env: prod }\\n' > /etc/pam-mfa/agent.yaml");
    let edited = c.sh("sha256sum /etc/pam-mfa/agent.yaml");
    c.sh("cd /root/pam-mfa && sh -e ./by-hand.sh");
    assert_eq!(c.sh("sha256sum /etc/pam-mfa/agent.yaml"), edited);
    let status = c.sh("systemctl restart mfa-agent && mfactl status");
    assert!(status.contains("on node prod3 [env=prod]"), "{status}");
}

//! README.md's steps without the packages and without a cluster, as
//! written: the hand install puts each repo file where the deb does, and
//! the enroll lines give a bundle with jerry's key, and what the README
//! says `mfactl explain` shows for root is what it shows.

use std::process::Command;
use std::time::Duration;

use pam_mfa_e2e::bins::{self, workspace_root};
use pam_mfa_e2e::process::run_with_timeout;
use pam_mfa_e2e::workdir::WorkDir;

use super::{blocks, readme};

/// Every `install ... SRC DEST` line of the README whose source is a file
/// (or a `dir/*` glob) of this repo, not the build's, names what exists and
/// the path the deb installs it to (agent/Cargo.toml's deb assets). The man
/// pages are left out: the deb takes them gzipped from target/pkgroot.
/// (tests/tests/packages_by_hand.rs runs the block and compares it with the
/// built deb.)
#[test]
fn readme_hand_install_puts_repo_files_where_the_deb_does() {
    let cargo = std::fs::read_to_string(workspace_root().join("agent/Cargo.toml")).unwrap();
    let mut checked = 0;
    for b in blocks(&readme()).iter().filter(|b| b.lang.is_empty()) {
        for line in b.text.lines().filter(|l| l.starts_with("install ")) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (src, dest) = (words[words.len() - 2], words[words.len() - 1]);
            if !["packaging/", "config/", "web/"]
                .iter()
                .any(|p| src.starts_with(p))
                || src.starts_with("packaging/man/")
            {
                continue;
            }
            let exists = match src.strip_suffix("/*") {
                Some(dir) => workspace_root().join(dir).is_dir(),
                None => workspace_root().join(src).is_file(),
            };
            assert!(
                exists,
                "README.md:{}: `{line}`: {src} is not in the repo",
                b.line
            );
            let asset = format!("[\"../{src}\", \"{}\"", dest.trim_start_matches('/'));
            assert!(
                cargo.contains(&asset),
                "README.md:{}: `{line}`: the deb does not install {src} at {dest}",
                b.line
            );
            checked += 1;
        }
    }
    assert_eq!(
        checked, 10,
        "the three units, tmpfiles, the pam-auth-update profile, the default agent.yaml, publish.env, the sshd drop-in, the pam.d examples and the approval page"
    );
}

/// The block that makes a bundle with jerry's key, run as written by
/// `sh -e` in a fresh directory holding `jerry_sk.pub` (the README's own
/// example key), with the built mfactl first on PATH: it ends with
/// `mfactl check` counting the device.
#[test]
fn readme_enroll_lines_run_word_for_word() {
    let md = readme();
    let block = blocks(&md)
        .into_iter()
        .find(|b| {
            b.text
                .contains("mfactl enroll --user jerry --sk jerry_sk.pub")
        })
        .expect("README.md's enroll block");
    let key = md
        .split('"')
        .find(|s| s.starts_with("sk-ssh-ed25519@openssh.com AAAA"))
        .expect("README.md's example sk key");
    let work = WorkDir::new("readme-enroll");
    work.write("jerry_sk.pub", &format!("{key}\n"), 0o644);
    let bin_dir = bins::mfactl().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-e", "-c", &block.text])
        .current_dir(work.path())
        .env("PATH", path);
    let f = run_with_timeout(&mut cmd, Duration::from_secs(30));
    assert!(
        f.success(),
        "README.md:{}:\n{}{}",
        block.line,
        f.stdout,
        f.stderr
    );
    assert!(f.stdout.contains(" 1 devices,"), "{}", f.stdout);
    let bundle = std::fs::read_to_string(work.join("bundle.yaml")).unwrap();
    assert!(
        bundle.contains("kind: mfa_device") && bundle.contains("user: \"jerry\""),
        "{bundle}"
    );
}

/// README's warning that `mfa: off` lets a plain key in names what
/// `mfactl explain --login root` says on prod3 with the example policy:
/// root is no cluster user's, allowed, with no MFA.
#[test]
fn readme_mfa_off_warning_says_what_explain_says_for_root_on_prod3() {
    let md = readme();
    assert!(
        md.contains("**`mfa: off` lets a plain key in.** `mfactl explain --login root` on prod3\nwith the example policy says `access: allow` and `mfa: off`"),
        "README.md's mfa: off warning changed: update this test with it"
    );
    let work = WorkDir::new("readme-mfa-off");
    let bundle = work.join("bundle.yaml");
    let f = run_with_timeout(
        Command::new(bins::mfactl()).arg("example-policy"),
        Duration::from_secs(30),
    );
    assert!(f.success(), "{}", f.stderr);
    std::fs::write(&bundle, &f.stdout).unwrap();
    let f = run_with_timeout(
        Command::new(bins::mfactl())
            .args(["explain", "--node", "prod3", "--label", "env=prod"])
            .args(["--login", "root", "--policy"])
            .arg(&bundle),
        Duration::from_secs(30),
    );
    assert!(f.success(), "{}{}", f.stdout, f.stderr);
    let field = |name: &str| {
        f.stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}:")))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name}: in\n{}", f.stdout))
            .to_string()
    };
    assert_eq!(field("access"), "allow", "{}", f.stdout);
    assert_eq!(field("mfa"), "off", "{}", f.stdout);
    assert_eq!(field("cluster user"), "(not a single cluster user)");
}

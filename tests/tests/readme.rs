//! README.md as a newcomer follows it: every link stays inside the repo and
//! exists, every agent.yaml and bundle snippet passes `mfactl check`, the
//! sshd snippet passes `sshd -t`, and every `mfactl` / `mfa-agent` command
//! line shown uses a subcommand and flags the binary accepts, and the
//! package and module installs name the files the build makes. Needs the
//! workspace built (`cargo build --workspace`); the sshd part needs root.

#[path = "readme/by_hand.rs"]
mod by_hand;
#[path = "readme/match_check.rs"]
mod match_check;
#[path = "readme/package_builds.rs"]
mod package_builds;
#[path = "readme/publish.rs"]
mod publish;
#[path = "readme/sandbox.rs"]
mod sandbox;
#[path = "readme/step_1_copy.rs"]
mod step_1_copy;
#[path = "readme/uninstall.rs"]
mod uninstall;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use pam_mfa_e2e::bins::{self, workspace_root};
use pam_mfa_e2e::process::{run_with_timeout, Finished};
use pam_mfa_e2e::sshd::check as sshd_check;
use pam_mfa_e2e::workdir::WorkDir;

/// One fenced block: its info string, the README line it starts on, its text.
struct Block {
    lang: String,
    line: usize,
    text: String,
}

fn readme() -> String {
    let p = workspace_root().join("README.md");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn blocks(md: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in md.lines().enumerate() {
        match (open.take(), line.strip_prefix("```")) {
            (None, Some(lang)) => {
                open = Some(Block {
                    lang: lang.trim().to_owned(),
                    line: i + 1,
                    text: String::new(),
                })
            }
            (Some(b), Some(_)) => out.push(b),
            (Some(mut b), None) => {
                b.text.push_str(line);
                b.text.push('\n');
                open = Some(b);
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "README.md has an unclosed ``` block");
    out
}

fn first_key(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .and_then(|l| l.split(':').next())
        .unwrap_or("")
}

fn run(cmd: &mut Command) -> Finished {
    run_with_timeout(cmd, Duration::from_secs(30))
}

#[test]
fn readme_links_stay_inside_the_repo_and_exist() {
    let md = readme();
    assert!(
        !md.contains("../"),
        "README.md points outside the repo (../): a newcomer has only the repo"
    );
    let mut checked = 0;
    for piece in md.split("](").skip(1) {
        let target = piece.split(')').next().unwrap_or("");
        let target = target.split('#').next().unwrap_or("");
        if target.is_empty() || target.starts_with("http://") || target.starts_with("https://") {
            continue;
        }
        let p: PathBuf = workspace_root().join(target);
        assert!(
            p.exists(),
            "README.md links to {target}, which is not in the repo"
        );
        checked += 1;
    }
    assert!(checked >= 3, "found only {checked} repo links in README.md");
}

#[test]
fn readme_agent_yaml_and_bundle_snippets_pass_mfactl_check() {
    let work = WorkDir::new("readme-snippets");
    let mut agent_yamls = 0;
    let mut bundles = 0;
    for b in blocks(&readme()).iter().filter(|b| b.lang == "yaml") {
        let key = first_key(&b.text);
        let name = match key {
            "node" | "cluster" => {
                agent_yamls += 1;
                format!("agent-{}.yaml", b.line)
            }
            "kind" => {
                bundles += 1;
                format!("bundle-{}.yaml", b.line)
            }
            other => panic!(
                "README.md:{}: a yaml block of unknown kind ({other}:)",
                b.line
            ),
        };
        let file = work.write(&name, &b.text, 0o644);
        let f = run(Command::new(bins::mfactl()).arg("check").arg(&file));
        assert!(
            f.success(),
            "README.md:{}: `mfactl check` refuses the snippet:\n{}{}\n{}",
            b.line,
            f.stdout,
            f.stderr,
            b.text
        );
        if key != "kind" {
            let f = run(Command::new(bins::mfa_agent())
                .arg("--check")
                .arg("--config")
                .arg(&file));
            // Exit 1 only says the snippet's policy source is not on this host.
            assert!(
                f.code != Some(2)
                    && format!("{}{}", f.stdout, f.stderr).contains("configuration ok"),
                "README.md:{}: `mfa-agent --check` refuses the snippet:\n{}{}",
                b.line,
                f.stdout,
                f.stderr
            );
        }
    }
    assert!(
        agent_yamls >= 2,
        "README.md shows {agent_yamls} agent.yaml snippets"
    );
    assert!(bundles >= 1, "README.md shows {bundles} bundle snippets");
}

#[test]
fn readme_sshd_snippet_passes_sshd_t() {
    pam_mfa_e2e::require_root!();
    let snippet = blocks(&readme())
        .into_iter()
        .find(|b| b.text.lines().any(|l| l == "UsePAM yes"))
        .expect("README.md shows the sshd drop-in");
    let work = WorkDir::new("readme-sshd");
    let drop_in = work.write("pam-mfa.conf", &snippet.text, 0o644);
    let main = sshd_check::config_including(&work, &drop_in);
    sshd_check::with_private_run(&format!(
        "{sshd} -t -f {cfg}",
        sshd = bins::SSHD,
        cfg = main.display()
    ));
    // The README shows the shipped drop-in: the same settings, in order.
    let shipped =
        std::fs::read_to_string(workspace_root().join("config/sshd_config.d/pam-mfa.conf"))
            .expect("config/sshd_config.d/pam-mfa.conf");
    let settings = |t: &str| -> Vec<String> {
        t.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        settings(&snippet.text),
        settings(&shipped),
        "README.md:{}: the sshd snippet differs from config/sshd_config.d/pam-mfa.conf",
        snippet.line
    );
}

/// `PROGRAM --help` (or `PROGRAM SUB --help`), as plain text.
fn help(bin: &PathBuf, sub: Option<&str>) -> String {
    let mut cmd = Command::new(bin);
    cmd.args(sub).arg("--help").env("NO_COLOR", "1");
    let f = run(&mut cmd);
    assert!(
        f.success(),
        "{} {} --help failed: {}",
        bin.display(),
        sub.unwrap_or(""),
        f.stderr
    );
    f.stdout
}

/// The `--flags` of one shown command line (comments cut off).
fn flags(line: &str) -> Vec<&str> {
    line.split(" #")
        .next()
        .unwrap_or("")
        .split(|c: char| c.is_whitespace() || c == '[' || c == ']')
        .filter(|w| w.starts_with("--"))
        .map(|w| w.split('=').next().unwrap_or(w))
        .collect()
}

#[test]
fn readme_command_lines_use_subcommands_and_flags_that_exist() {
    let mut shown = 0;
    for b in blocks(&readme()).iter().filter(|b| b.lang.is_empty()) {
        for line in b.text.lines().map(str::trim_start) {
            let line = line.strip_prefix("# ").unwrap_or(line);
            let (bin, sub) = if let Some(rest) = line.strip_prefix("mfactl ") {
                let sub = rest.split_whitespace().next().unwrap_or("");
                (bins::mfactl(), Some(sub))
            } else if line.starts_with("mfa-agent ") {
                (bins::mfa_agent(), None)
            } else {
                continue;
            };
            let text = help(&bin, sub);
            for flag in flags(line) {
                assert!(
                    text.contains(flag),
                    "README.md:{}: `{line}` uses {flag}, which `{} {} --help` does not list",
                    b.line,
                    bin.display(),
                    sub.unwrap_or("")
                );
            }
            shown += 1;
        }
    }
    assert!(
        shown >= 10,
        "found only {shown} mfactl command lines in README.md"
    );
}

/// The targets `make` is shown with: each must be a target of the Makefile.
#[test]
fn readme_make_targets_exist() {
    let makefile = std::fs::read_to_string(workspace_root().join("Makefile")).expect("Makefile");
    let targets: Vec<&str> = makefile
        .lines()
        .filter(|l| !l.starts_with(['\t', '#', ' ', '.']) && !l.contains(":="))
        .filter_map(|l| l.split_once(':').map(|(t, _)| t))
        .flat_map(str::split_whitespace)
        .collect();
    let md = readme();
    let mut shown = Vec::new();
    for piece in md.split("make ").skip(1) {
        let word: String = piece
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        // `make` as a verb in prose is followed by a space-less word too:
        // only names that look like targets the README presents in code.
        if md.contains(&format!("`make {word}")) || md.contains(&format!("\nmake {word} ")) {
            shown.push(word);
        }
    }
    for want in [
        "demo", "test", "bench", "deb", "rpm", "fuzz", "soak", "release",
    ] {
        assert!(
            shown.iter().any(|w| w == want),
            "README.md no longer shows `make {want}`"
        );
    }
    for word in shown {
        assert!(
            targets.contains(&word.as_str()),
            "README.md shows `make {word}`, which the Makefile has no target for"
        );
    }
}

/// The package installs shown run from this directory, where `make deb` and
/// `make rpm` leave the packages (the same places the package tests take
/// them from); the module copied by hand gets the name the PAM lines load
/// (a PAM line naming a missing file refuses every login through it).
#[test]
fn readme_install_commands_name_what_the_build_makes() {
    let mut installs = 0;
    let mut module_copies = 0;
    for b in blocks(&readme()).iter().filter(|b| b.lang.is_empty()) {
        for line in b.text.lines() {
            let cmd = line.split(" #").next().unwrap_or("");
            let words: Vec<&str> = cmd.split_whitespace().collect();
            for pair in words.windows(3) {
                let (dir, prefix, suffix) = match pair {
                    ["apt-get", "install", _] => ("target/debian", "pam-mfa_", ".deb"),
                    ["dnf", "install", _] => ("target/generate-rpm", "pam-mfa-", ".rpm"),
                    _ => continue,
                };
                let path = pair[2].strip_prefix("./").unwrap_or_else(|| {
                    panic!(
                        "README.md:{}: `{cmd}`: apt-get and dnf need ./ to take a file",
                        b.line
                    )
                });
                assert_eq!(
                    path,
                    format!("{dir}/{prefix}*{suffix}"),
                    "README.md:{}: `{cmd}` does not name where `make` leaves the package",
                    b.line
                );
                installs += 1;
            }
            if words.iter().any(|w| w.ends_with("libpam_mfa.so")) {
                let dest = words.last().copied().unwrap_or("");
                assert!(
                    dest.starts_with("/usr/lib") && dest.ends_with("/security/pam_mfa.so"),
                    "README.md:{}: `{cmd}` must install the module as .../security/pam_mfa.so",
                    b.line
                );
                module_copies += 1;
            }
        }
    }
    assert_eq!(installs, 2, "README.md shows the deb and rpm installs");
    assert_eq!(
        module_copies, 1,
        "README.md shows the module installed by hand"
    );
}

/// The package file names `make deb` and `make rpm` are shown to leave:
/// `<version>-<revision>`, the revision being cargo-deb's `revision` and
/// cargo-generate-rpm's `release` from agent/Cargo.toml (both "1" unless set).
#[test]
fn readme_names_the_package_files_with_their_revision() {
    let cargo = std::fs::read_to_string(workspace_root().join("agent/Cargo.toml")).unwrap();
    let setting = |section: &str, key: &str| -> String {
        cargo
            .split(&format!("[{section}]\n"))
            .nth(1)
            .and_then(|rest| rest.split("\n[").next())
            .and_then(|body| {
                body.lines().find_map(|l| {
                    let (k, v) = l.split_once('=')?;
                    (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
                })
            })
            .unwrap_or_else(|| "1".into())
    };
    let deb = format!(
        "target/debian/pam-mfa_<version>-{}_amd64.deb",
        setting("package.metadata.deb", "revision")
    );
    let rpm = format!(
        "target/generate-rpm/pam-mfa-<version>-{}.x86_64.rpm",
        setting("package.metadata.generate-rpm", "release")
    );
    let md = readme();
    for name in [deb, rpm] {
        assert!(
            md.contains(&format!("# {name} ")),
            "README.md should name {name}"
        );
    }
}

#[test]
fn helpers() {
    let b = blocks("x\n```yaml\nnode:\n  a: 1\n```\n```\nmfactl x --y\n```\n");
    assert_eq!(b.len(), 2);
    assert_eq!((b[0].lang.as_str(), b[0].line), ("yaml", 2));
    assert_eq!(first_key(&b[0].text), "node");
    assert_eq!(
        flags("mfactl explain --policy b --json   # --not-this"),
        ["--policy", "--json"]
    );
    assert_eq!(
        flags("mfactl enroll --piv [--slot 9c]"),
        ["--piv", "--slot"]
    );
}

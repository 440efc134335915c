//! Every example in `config/` (and the agent.yaml the packages install) is
//! checked by the program that will read it: agent.yaml files by
//! `mfa-agent --check`, bundles by `mfactl check`, the pam.d snippets'
//! `pam_mfa.so` arguments by the module's own parser (and every other module
//! and include they name must exist on this Debian host), the sshd drop-in by
//! `sshd -t` and `sshd -T`. Every example starts with a comment saying where
//! it goes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use pam_mfa::args::Config;
use pam_mfa_e2e::bins::{self, workspace_root};
use pam_mfa_e2e::process::{run_checked, run_with_timeout, Finished};
use pam_mfa_e2e::sshd::check as sshd_check;
use pam_mfa_e2e::workdir::WorkDir;

fn config_dir() -> PathBuf {
    workspace_root().join("config")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn run(cmd: &mut Command) -> Finished {
    run_with_timeout(cmd, Duration::from_secs(30))
}

/// The agent.yaml examples: the full reference and the packaged conffile.
fn agent_yamls() -> Vec<PathBuf> {
    vec![
        config_dir().join("agent.yaml"),
        workspace_root().join("packaging/etc/agent.yaml"),
    ]
}

#[test]
fn every_example_starts_with_a_comment() {
    let mut all = agent_yamls();
    all.extend(files_in(&config_dir().join("pam.d")));
    all.extend(files_in(&config_dir().join("sshd_config.d")));
    all.extend(files_in(&config_dir().join("examples")));
    all.push(config_dir().join("publish.env"));
    for p in all {
        let text = read(&p);
        let comments = text.lines().take_while(|l| l.starts_with('#')).count();
        assert!(
            comments >= 1,
            "{} should start with a comment saying what it is",
            p.display()
        );
    }
    for name in ["sshd", "sudo", "su", "login", "gdm-password"] {
        let p = config_dir().join("pam.d").join(name);
        assert!(
            read(&p).starts_with(&format!("# /etc/pam.d/{name} ")),
            "{} should name the file it goes to",
            p.display()
        );
    }
}

#[test]
fn agent_yaml_examples_load_in_the_agent() {
    let work = WorkDir::new("config-agent-yaml");
    let bundle = config_dir().join("examples/bundle.yaml");
    for example in agent_yamls() {
        // As written: the configuration itself must be accepted (exit 2 is a
        // configuration error; 1 only says /etc/pam-mfa/policy.d has no bundle here).
        let f = run(Command::new(bins::mfa_agent())
            .arg("--check")
            .arg("--config")
            .arg(&example));
        assert!(
            f.code != Some(2) && format!("{}{}", f.stdout, f.stderr).contains("configuration ok"),
            "{} is refused by mfa-agent --check:\n{}\n{}",
            example.display(),
            f.stdout,
            f.stderr
        );
        // With the example bundle as its source, the whole check passes.
        let text = read(&example);
        let cluster = format!("cluster:\n  source: file://{}\n", bundle.display());
        let text = if text.lines().any(|l| l == "cluster:") {
            text.lines()
                .map(|l| {
                    if l.trim_start().starts_with("source: ") && !l.trim_start().starts_with('#') {
                        format!("  source: file://{}", bundle.display())
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            format!("{text}\n{cluster}")
        };
        let copy = work.write("agent.yaml", &text, 0o644);
        let f = run(Command::new(bins::mfa_agent())
            .arg("--check")
            .arg("--config")
            .arg(&copy));
        assert!(
            f.success() && f.stdout.contains("configuration ok; policy revision"),
            "{} with the example bundle:\n{}\n{}",
            example.display(),
            f.stdout,
            f.stderr
        );
        // mfactl check reads agent.yaml files too.
        run_checked(Command::new(bins::mfactl()).arg("check").arg(&example));
    }
}

#[test]
fn bundle_examples_pass_mfactl_check() {
    let bundles = files_in(&config_dir().join("examples"));
    assert!(!bundles.is_empty());
    for b in bundles {
        let f = run(Command::new(bins::mfactl()).arg("check").arg(&b));
        assert!(
            f.success(),
            "mfactl check {}:\n{}\n{}",
            b.display(),
            f.stdout,
            f.stderr
        );
    }
}

/// Debian's PAM module directory on this host.
fn security_dir() -> PathBuf {
    let multiarch = run_checked(Command::new("dpkg-architecture").arg("-qDEB_HOST_MULTIARCH"));
    PathBuf::from(format!("/usr/lib/{}/security", multiarch.trim()))
}

#[test]
fn pam_d_examples_are_valid_stacks_with_accepted_module_arguments() {
    let security = security_dir();
    let files = files_in(&config_dir().join("pam.d"));
    assert!(files.len() >= 4, "config/pam.d examples missing: {files:?}");
    for file in files {
        let mut mfa_lines = 0;
        for (n, line) in read(&file).lines().enumerate() {
            let at = format!("{}:{}", file.display(), n + 1);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(inc) = line.strip_prefix("@include ") {
                assert!(
                    Path::new("/etc/pam.d").join(inc.trim()).is_file(),
                    "{at}: no /etc/pam.d/{inc}"
                );
                continue;
            }
            // A `[value=action ...]` control spans words: one field here.
            let mut fields: Vec<String> = Vec::new();
            for word in line.split_whitespace() {
                match fields.last_mut() {
                    Some(last) if last.starts_with('[') && !last.ends_with(']') => {
                        last.push(' ');
                        last.push_str(word);
                    }
                    _ => fields.push(word.to_string()),
                }
            }
            let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
            assert!(
                fields.len() >= 3,
                "{at}: `{line}` is not `type control module [args]`"
            );
            let kind = fields[0].trim_start_matches('-');
            assert!(
                ["auth", "account", "session", "password"].contains(&kind),
                "{at}: bad type {kind}"
            );
            let control = fields[1];
            assert!(
                [
                    "required",
                    "requisite",
                    "sufficient",
                    "optional",
                    "include",
                    "substack"
                ]
                .contains(&control)
                    || (control.starts_with('[') && control.ends_with(']')),
                "{at}: bad control {control}"
            );
            let module = fields[2];
            let args = &fields[3..];
            if module == "pam_mfa.so" {
                mfa_lines += 1;
                if let Err(e) = Config::parse(args) {
                    panic!("{at}: pam_mfa.so would refuse its arguments: {e}");
                }
            } else {
                assert!(
                    security.join(module).is_file(),
                    "{at}: no module {module} in {}",
                    security.display()
                );
            }
        }
        assert!(mfa_lines >= 1, "{} loads no pam_mfa.so", file.display());
    }
}

#[test]
fn sshd_drop_in_passes_sshd_t_and_says_what_pam_mfa_needs() {
    pam_mfa_e2e::require_root!();
    let work = WorkDir::new("config-sshd");
    let drop_in = config_dir().join("sshd_config.d/pam-mfa.conf");
    let main = sshd_check::config_including(&work, &drop_in);
    let out = sshd_check::with_private_run(&format!(
        "{sshd} -t -f {cfg} && {sshd} -T -f {cfg} -C user=u,host=h,addr=192.0.2.1 && {sshd} -T -f {cfg} -C user=root,host=h,addr=192.0.2.1 | sed 's/^/root: /'",
        sshd = bins::SSHD,
        cfg = main.display()
    ));
    for want in [
        "usepam yes",
        "kbdinteractiveauthentication yes",
        "authenticationmethods publickey,keyboard-interactive",
        "exposeauthinfo yes",
        "authorizedkeyscommand /usr/bin/mfactl authorized-keys %u",
        "authorizedkeyscommanduser nobody",
        "pubkeyauthoptions touch-required",
        // sshd's default (prohibit-password) aborts root's keyboard-interactive.
        "permitrootlogin yes",
    ] {
        assert!(out.lines().any(|l| l == want), "sshd -T lacks `{want}`");
    }
    // Root gets the same: a key first, then keyboard-interactive, never a password alone.
    for want in [
        "root: permitrootlogin yes",
        "root: authenticationmethods publickey,keyboard-interactive",
    ] {
        assert!(
            out.lines().any(|l| l == want),
            "sshd -T for root lacks `{want}`"
        );
    }
    // The agent must know what sshd enforces: agent.yaml says the same.
    let agent = read(&config_dir().join("agent.yaml"));
    assert!(
        agent.contains("pubkey_auth_options: [touch-required]"),
        "config/agent.yaml's sshd.pubkey_auth_options should match the drop-in"
    );
}

/// `config/publish.env` as `pam-mfa-publish.service` uses it: its variables
/// (paths moved into a work directory) and the unit's own ExecStart, with a
/// tctl on PATH printing a bundle: it publishes. Every variable it names,
/// set or commented out, is one `mfactl publish --help` lists.
#[test]
fn publish_env_and_unit_publish() {
    let work = WorkDir::new("config-publish-env");
    let env_text = read(&config_dir().join("publish.env"));
    let help = run_checked(
        Command::new(bins::mfactl())
            .args(["publish", "--help"])
            .env("NO_COLOR", "1"),
    );
    let key = work.join("publish_ed25519");
    run_checked(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key),
    );
    let mut vars = Vec::new();
    for line in env_text.lines() {
        let Some((name, value)) = line.trim_start_matches('#').split_once('=') else {
            continue;
        };
        if !name.starts_with("PAM_MFA_PUBLISH_") {
            continue;
        }
        assert!(
            help.contains(&format!("[env: {name}=")),
            "publish.env names {name}, which mfactl publish does not read"
        );
        if line.starts_with('#') {
            continue;
        }
        let value = match name {
            "PAM_MFA_PUBLISH_OUT" => work.join("www").display().to_string(),
            "PAM_MFA_PUBLISH_SIGNING_KEY" => key.display().to_string(),
            _ => value.to_owned(),
        };
        vars.push((name.to_owned(), value));
    }
    assert!(vars.len() >= 3, "{vars:?}");
    let unit = read(&workspace_root().join("packaging/systemd/pam-mfa-publish.service"));
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart=/usr/bin/mfactl "))
        .expect("the unit runs /usr/bin/mfactl");
    assert!(unit.contains("EnvironmentFile=/etc/pam-mfa/publish.env"));
    let bundle = read(&config_dir().join("examples/bundle.yaml"));
    work.write("bundle.yaml", &bundle, 0o644);
    let bin = work.subdir("bin", 0o755);
    // tctl's two runs: the resources, then the login states (none here).
    work.write(
        "bin/tctl",
        &format!(
            "#!/bin/sh\n[ \"$2\" = user_login_state ] && exit 0\ncat {}\n",
            work.join("bundle.yaml").display()
        ),
        0o755,
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let f = run(Command::new(bins::mfactl())
        .args(exec.split_whitespace())
        .args(["--source-name", "example"])
        .env_clear()
        .env("PATH", path)
        .envs(vars));
    assert!(f.success(), "{}{}", f.stdout, f.stderr);
    assert!(f.stdout.contains("published serial"), "{}", f.stdout);
    assert!(work.join("www/manifest.json").exists());
}

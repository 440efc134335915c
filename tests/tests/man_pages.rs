//! The man pages in `packaging/man/` against the code: every `mfactl`
//! subcommand, every `pam_mfa.so` argument and every key of the example
//! `agent.yaml` must be documented. Needs no root; needs `mfactl` built
//! (`cargo build --workspace`, or `$PAM_MFA_BIN_DIR`).

use std::path::{Path, PathBuf};
use std::process::Command;

use pam_mfa_e2e::bins;
use pam_mfa_e2e::man_page::{examples, has_word, mfactl_subcommands, plain};

/// The module arguments `pam_mfa/src/args.rs` accepts today. Each must still
/// be in the source (so removing one fails here until the page is fixed);
/// arguments added to the source are found by [`module_arguments`].
const KNOWN_MODULE_ARGUMENTS: [&str; 4] = ["socket", "timeout", "fail_mode", "debug"];

const PAGES: [&str; 4] = ["pam_mfa.8", "mfa-agent.8", "mfactl.1", "agent.yaml.5"];

fn root() -> PathBuf {
    bins::workspace_root()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The page's source with the troff escapes that matter for searching
/// undone: `\-` is `-`, font changes and zero-width escapes vanish.
fn page(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../packaging/man")
        .join(name);
    plain(&read(&path))
}

fn fail_if_missing(what: &str, missing: &[String]) {
    assert!(missing.is_empty(), "{what}:\n  {}", missing.join("\n  "));
}

#[test]
fn every_page_has_the_standard_sections() {
    let mut missing = Vec::new();
    for name in PAGES {
        let text = page(name);
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "FILES",
            "EXAMPLES",
            "SEE ALSO",
        ] {
            let heading = format!(".SH {section}");
            let quoted = format!(".SH \"{section}\"");
            if !text.lines().any(|l| l == heading || l == quoted) {
                missing.push(format!("{name}: {section}"));
            }
        }
        if !text.lines().any(|l| l.starts_with(".TH ")) {
            missing.push(format!("{name}: .TH"));
        }
    }
    fail_if_missing("sections missing from the man pages", &missing);
}

#[test]
fn mfactl_page_documents_every_subcommand() {
    let text = page("mfactl.1");
    let missing: Vec<String> = mfactl_subcommands()
        .into_iter()
        .filter(|cmd| !text.contains(&format!("mfactl {cmd}")))
        .collect();
    fail_if_missing(
        "mfactl subcommands with no `mfactl NAME` in packaging/man/mfactl.1",
        &missing,
    );
}

#[test]
fn readme_mentions_every_mfactl_subcommand() {
    let readme = read(&root().join("README.md"));
    let missing: Vec<String> = mfactl_subcommands()
        .into_iter()
        // `help` is clap's own.
        .filter(|cmd| cmd != "help")
        .filter(|cmd| !readme.contains(&format!("mfactl {cmd}")))
        .collect();
    fail_if_missing(
        "mfactl subcommands with no `mfactl NAME` in README.md",
        &missing,
    );
}

/// HACKING.md's one-line list of the commands, `mfactl [--socket PATH]
/// a|b|c ...`.
#[test]
fn hacking_lists_every_mfactl_subcommand() {
    let hacking = read(&root().join("HACKING.md"));
    let list = hacking
        .lines()
        .find_map(|l| l.strip_prefix("- `mfactl [--socket PATH] "))
        .expect("HACKING.md lists the mfactl commands as `mfactl [--socket PATH] a|b|c ...`");
    let listed: Vec<&str> = list.split(' ').next().unwrap_or("").split('|').collect();
    let missing: Vec<String> = mfactl_subcommands()
        .into_iter()
        .filter(|cmd| cmd != "help" && !listed.contains(&cmd.as_str()))
        .collect();
    fail_if_missing(
        "mfactl subcommands missing from HACKING.md's list",
        &missing,
    );
}

/// The argument names in the match arms of `Config::parse`, e.g.
/// `("socket", Some(v)) =>` or `("socket" | "timeout", None) =>`.
fn module_arguments(args_rs: &str) -> Vec<String> {
    let code = args_rs.split("#[cfg(test)]").next().unwrap_or(args_rs);
    let mut names: Vec<String> = Vec::new();
    for line in code.lines() {
        let Some(arm) = line.trim_start().strip_prefix("(\"") else {
            continue;
        };
        if !line.contains("=>") {
            continue;
        }
        let pattern = arm.split(',').next().unwrap_or("");
        for alt in format!("\"{pattern}").split('|') {
            let name = alt.trim().trim_matches('"');
            if !name.is_empty() && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

#[test]
fn pam_mfa_page_documents_every_module_argument() {
    let args_rs = read(&root().join("pam_mfa/src/args.rs"));
    let parsed = module_arguments(&args_rs);
    let gone: Vec<String> = KNOWN_MODULE_ARGUMENTS
        .iter()
        .filter(|a| !parsed.iter().any(|p| p == *a) || !args_rs.contains(&format!("(\"{a}\"")))
        .map(|a| a.to_string())
        .collect();
    fail_if_missing(
        "module arguments no longer accepted by pam_mfa/src/args.rs (fix pam_mfa.8 and this list)",
        &gone,
    );
    let text = page("pam_mfa.8");
    let missing: Vec<String> = parsed
        .into_iter()
        .filter(|a| {
            !text.contains(&format!("{a}=")) && !text.lines().any(|l| l == format!(".B {a}"))
        })
        .collect();
    fail_if_missing(
        "module arguments of pam_mfa/src/args.rs missing from packaging/man/pam_mfa.8",
        &missing,
    );
}

/// Every mapping key of a YAML file written in block style (as the shipped
/// examples are), with one level of `{ k: v }` flow maps.
fn yaml_keys(text: &str) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut add = |k: &str| {
        let k = k.trim().trim_matches('"').trim_matches('\'');
        let ok = !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.*".contains(c));
        if ok && !keys.iter().any(|x| x == k) {
            keys.push(k.to_owned());
        }
    };
    for line in text.lines() {
        let line = line.split(" #").next().unwrap_or("");
        let t = line.trim_start();
        let t = t.strip_prefix("- ").unwrap_or(t);
        if t.starts_with('#') {
            continue;
        }
        let Some((key, value)) = t.split_once(':') else {
            continue;
        };
        if !(value.is_empty() || value.starts_with(' ')) {
            continue; // e.g. a `file:///...` scalar, not a key
        }
        add(key);
        let value = value.trim();
        if let Some(inner) = value.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
            for pair in inner.split(',') {
                if let Some((k, _)) = pair.split_once(':') {
                    add(k);
                }
            }
        }
    }
    keys
}

#[test]
fn agent_yaml_page_documents_every_key_of_the_examples() {
    let text = page("agent.yaml.5");
    let mut missing = Vec::new();
    for example in ["config/agent.yaml", "agent/src/config/default_agent.yaml"] {
        let keys = yaml_keys(&read(&root().join(example)));
        assert!(
            keys.len() > 5,
            "found only {keys:?} in {example}: is it still block-style YAML?"
        );
        missing.extend(
            keys.into_iter()
                .filter(|k| !has_word(&text, k))
                .map(|k| format!("{k} (from {example})")),
        );
    }
    fail_if_missing(
        "agent.yaml keys missing from packaging/man/agent.yaml.5",
        &missing,
    );
}

#[test]
fn agent_yaml_page_examples_pass_mfactl_check() {
    let work = pam_mfa_e2e::workdir::WorkDir::new("man-agent-yaml-examples");
    let mut checked = 0;
    for (line, text) in examples(&page("agent.yaml.5")) {
        let first = text
            .lines()
            .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .unwrap_or("");
        // An example starting with one of agent.yaml's top-level keys is a
        // whole agent.yaml a reader may paste.
        let key = first.split(':').next().unwrap_or("");
        if !first.contains(':') || !mfa_agent::config::agent_config_keys().contains(&key) {
            continue;
        }
        let file = work.write(&format!("agent-{line}.yaml"), &text, 0o644);
        let out = Command::new(bins::mfactl())
            .arg("check")
            .arg(&file)
            .output()
            .expect("run mfactl check");
        assert!(
            out.status.success(),
            "agent.yaml.5:{line}: mfactl check refuses the example:\n{}{}\n{text}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // ...and one the shipped unit lets the agent run with (an audit
        // file it may write).
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("shipped systemd unit"),
            "agent.yaml.5:{line}: the example names a path the unit does not let the agent write:\n{stderr}\n{text}"
        );
        checked += 1;
    }
    assert!(
        checked >= 3,
        "found only {checked} agent.yaml examples in agent.yaml.5"
    );
}

#[test]
fn pam_mfa_page_sshd_example_is_the_shipped_drop_in() {
    let settings = |t: &str| -> Vec<String> {
        t.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    let example = examples(&page("pam_mfa.8"))
        .into_iter()
        .find(|(_, t)| t.lines().any(|l| l == "UsePAM yes"))
        .expect("pam_mfa.8 shows the sshd drop-in");
    let shipped = read(&root().join("config/sshd_config.d/pam-mfa.conf"));
    assert_eq!(
        settings(&example.1),
        settings(&shipped),
        "pam_mfa.8:{}: the sshd example differs from config/sshd_config.d/pam-mfa.conf \
         (which sshd -t checks in config_examples.rs)",
        example.0
    );
}

/// README's order: the sshd drop-in before /etc/pam.d/sshd loses
/// common-auth, which the other order opens to any password.
#[test]
fn pam_mfa_page_shows_the_sshd_drop_in_before_the_sshd_stack() {
    let text = page("pam_mfa.8");
    let found = examples(&text);
    let line_of = |what: &str, pick: &dyn Fn(&str) -> bool| {
        found
            .iter()
            .find(|(_, t)| pick(t))
            .unwrap_or_else(|| panic!("pam_mfa.8 shows no {what}"))
            .0
    };
    let drop_in = line_of("sshd drop-in", &|t| t.lines().any(|l| l == "UsePAM yes"));
    let stack = line_of("/etc/pam.d/sshd", &|t| {
        t.lines().next() == Some("auth       required     pam_mfa.so")
    });
    assert!(
        drop_in < stack,
        "pam_mfa.8:{stack}: /etc/pam.d/sshd without common-auth comes before the drop-in (line {drop_in}): in that order any password logs in"
    );
    let between: String = text
        .lines()
        .skip(drop_in)
        .take(stack - drop_in)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        plain(&between).contains("Never in the other order"),
        "pam_mfa.8: no warning between the drop-in and the stack"
    );
}

#[test]
fn helpers() {
    assert_eq!(
        plain(r"\fBmfactl authorized\-keys\fR \(em x\&"),
        "mfactl authorized-keys   x"
    );
    assert!(has_word("a node.name: b", "name"));
    assert!(!has_word("hostname", "name"));
    assert!(!has_word("sshd-bastion", "sshd"));
    assert_eq!(
        module_arguments("match x {\n  (\"a\", Some(v)) => 1,\n  (\"b\" | \"c\", None) => 2,\n}\n#[cfg(test)]\n  (\"z\", _) => 3,\n"),
        ["a", "b", "c"]
    );
    assert_eq!(
        yaml_keys("# c\nnode:\n  name: x # n\n  labels: { env: prod, team: p }\ncluster:\n  source: file:///x\nl: [a, b]\n"),
        ["node", "name", "labels", "env", "team", "cluster", "source", "l"]
    );
}

//! README.md as a newcomer follows it: every link stays inside the repo and
//! exists, every agent.yaml and bundle snippet passes `mfactl check`, the
//! sshd snippet passes `sshd -t`, and every `mfactl` / `mfa-agent` command
//! line shown uses a subcommand and flags the binary accepts. Needs the
//! workspace built (`cargo build --workspace`); the sshd part needs root.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use pam_mfa_e2e::bins::{self, workspace_root};
use pam_mfa_e2e::process::{run_checked, run_with_timeout, Finished};
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
    let host_key = work.join("host_key");
    run_checked(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&host_key),
    );
    let main = work.write(
        "sshd_config",
        &format!(
            "Include {}\nHostKey {}\nPidFile none\n",
            drop_in.display(),
            host_key.display()
        ),
        0o644,
    );
    // sshd wants /run/sshd: a private /run in a private mount namespace.
    let script = format!(
        "mount -t tmpfs -o mode=755 tmpfs /run && mkdir /run/sshd && {sshd} -t -f {cfg}",
        sshd = bins::SSHD,
        cfg = main.display()
    );
    run_checked(
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-euc"])
            .arg(&script),
    );
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

/// The README's "From your Teleport cluster to every host" section.
fn publish_section(md: &str) -> &str {
    let start = md
        .find("\n## From your Teleport cluster to every host\n")
        .expect("README.md has the section \"From your Teleport cluster to every host\"");
    let rest = &md[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    &rest[..end]
}

/// The Auth Service host's commands of that section, word for word, on a
/// host with the package installed: in a private mount namespace, overlays
/// over /etc, /var/lib and /usr/share/doc (the host's own stay untouched)
/// hold the package's /etc/pam-mfa and examples; `tctl` on PATH prints a
/// real-shaped `--with-secrets` output, `systemctl` records what it was
/// asked. Then the section's nginx block serves the result: the manifest
/// (verified with the key the commands made), its signature and the
/// bundle, with the cache headers the section promises.
#[test]
fn readme_teleport_to_every_host_runs_word_for_word() {
    pam_mfa_e2e::require_root!();
    let md = readme();
    let section = publish_section(&md);
    let shown = blocks(section);
    let commands: Vec<&str> = shown
        .iter()
        .find(|b| b.lang.is_empty())
        .expect("the section shows its commands")
        .text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    assert!(
        (3..=6).contains(&commands.len()),
        "six commands or fewer: {commands:?}"
    );
    let nginx_block = &shown
        .iter()
        .find(|b| b.lang == "nginx")
        .expect("the section shows nginx's configuration")
        .text;
    let work = WorkDir::new("readme-publish");
    for d in ["etc", "varlib", "doc"] {
        work.subdir(&format!("upper/{d}"), 0o755);
        work.subdir(&format!("overlay-work/{d}"), 0o755);
    }
    let bin = work.subdir("bin", 0o755);
    std::os::unix::fs::symlink(bins::mfactl(), bin.join("mfactl")).unwrap();
    let fixture = workspace_root().join("agent/src/ctl/publish/testdata/tctl_with_secrets.yaml");
    work.write(
        "bin/tctl",
        &format!("#!/bin/sh\ncat {}\n", fixture.display()),
        0o755,
    );
    let calls = work.join("systemctl-calls");
    work.write(
        "bin/systemctl",
        &format!("#!/bin/sh\necho \"$*\" >> {}\n", calls.display()),
        0o755,
    );
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let nginx_conf = work.write(
        "nginx.conf",
        &format!(
            "daemon off;\nmaster_process off;\npid {w}/nginx.pid;\nerror_log {w}/nginx-error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {w}/t; proxy_temp_path {w}/t; fastcgi_temp_path {w}/t; uwsgi_temp_path {w}/t; scgi_temp_path {w}/t;\n  server {{\n    listen 127.0.0.1:{port};\n{nginx_block}  }}\n}}\n",
            w = work.path().display()
        ),
        0o644,
    );
    let script = readme_publish_script(&work, &bin, &commands, &nginx_conf, port);
    let f = run_with_timeout(
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "bash", "-euc"])
            .arg(&script),
        Duration::from_secs(120),
    );
    assert!(
        f.success(),
        "the section's commands failed:\n{}\n{}\n{script}",
        f.stdout,
        f.stderr
    );
    check_readme_publish_results(&work, &calls);
}

/// The shell for [`readme_teleport_to_every_host_runs_word_for_word`].
fn readme_publish_script(
    work: &WorkDir,
    bin: &std::path::Path,
    commands: &[&str],
    nginx_conf: &std::path::Path,
    port: u16,
) -> String {
    let w = work.path().display();
    let mut script = String::new();
    for (d, target) in [
        ("etc", "/etc"),
        ("varlib", "/var/lib"),
        ("doc", "/usr/share/doc"),
    ] {
        script.push_str(&format!(
            "mount -t overlay overlay -o lowerdir={target},upperdir={w}/upper/{d},workdir={w}/overlay-work/{d} {target}\n"
        ));
    }
    script.push_str(&format!(
        "mkdir -p /etc/pam-mfa /usr/share/doc/pam-mfa/examples {w}/t\ncp {env} /usr/share/doc/pam-mfa/examples/publish.env\nexport PATH={bin}:$PATH\ncd /\n",
        env = workspace_root().join("config/publish.env").display(),
        bin = bin.display()
    ));
    for (i, c) in commands.iter().enumerate() {
        script.push_str(&format!("{c} > {w}/out-{i}.txt\n"));
    }
    script.push_str(&format!(
        "nginx -c {conf} & NGINX=$!\n\
         for i in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:{port}/pam-mfa/manifest.json && break; sleep 0.1; done\n\
         get() {{ curl -sfS -D {w}/headers-$1 -o {w}/got-$1 http://127.0.0.1:{port}/pam-mfa/$2; }}\n\
         get manifest manifest.json; get sig manifest.json.sig\n\
         get page web/index.html\n\
         get bundle \"$(sed -n 's/.*\"path\":\"\\([^\"]*\\)\".*/\\1/p' {w}/got-manifest)\"\n\
         kill $NGINX; wait $NGINX || true\n",
        conf = nginx_conf.display()
    ));
    script
}

fn check_readme_publish_results(work: &WorkDir, calls: &std::path::Path) {
    use mfa_agent::sync::manifest_format::Manifest;
    let upper = work.join("upper");
    let public = std::fs::read_to_string(upper.join("etc/pam-mfa/publish_ed25519.pub")).unwrap();
    let key = mfa_agent::sync::parse_signing_key(&public).unwrap();
    let manifest = std::fs::read(work.join("got-manifest")).unwrap();
    let sig = std::fs::read(work.join("got-sig")).unwrap();
    mfa_agent::sync::verify_bundle_signature(&manifest, &sig, &[key])
        .expect("the served manifest verifies with the key the commands made");
    let m = Manifest::parse(&manifest).unwrap();
    let bundle = std::fs::read(work.join("got-bundle")).unwrap();
    assert_eq!(bundle.len() as u64, m.bundle.size);
    let on_disk = upper.join("varlib/pam-mfa-publish/www/manifest.json");
    assert_eq!(std::fs::read(on_disk).unwrap(), manifest);
    let header = |name: &str| {
        std::fs::read_to_string(work.join(&format!("headers-{name}")))
            .unwrap()
            .to_ascii_lowercase()
    };
    assert!(header("manifest").contains("cache-control: no-cache"));
    assert!(header("sig").contains("cache-control: no-cache"));
    assert!(
        header("bundle").contains("immutable"),
        "{}",
        header("bundle")
    );
    // The approval page beside it, with its Content-Security-Policy.
    assert_eq!(
        std::fs::read(work.join("got-page")).unwrap(),
        mfa_agent::web_assets::WEB_FILES[0].1
    );
    assert!(
        header("page").contains(&format!(
            "content-security-policy: {}",
            mfa_agent::web_assets::CONTENT_SECURITY_POLICY.to_ascii_lowercase()
        )),
        "{}",
        header("page")
    );
    // The env file went where the unit reads it, private; and the README's
    // --out is the example's.
    let env_path = upper.join("etc/pam-mfa/publish.env");
    let env = std::fs::read_to_string(&env_path).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&env_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(env.contains("PAM_MFA_PUBLISH_OUT=/var/lib/pam-mfa-publish/www\n"));
    // systemctl was asked for units the package ships.
    let asked = std::fs::read_to_string(calls).unwrap_or_default();
    assert!(!asked.is_empty(), "the section never runs systemctl");
    for unit in asked
        .split_whitespace()
        .filter(|w| w.contains(".timer") || w.contains(".service"))
    {
        assert!(
            workspace_root()
                .join("packaging/systemd")
                .join(unit)
                .exists(),
            "systemctl {asked}: {unit} is not shipped"
        );
    }
}

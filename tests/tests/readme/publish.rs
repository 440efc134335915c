//! README.md's way from Teleport to every host, run word for word: the
//! publish script against a fake tctl, and what it leaves behind.

use super::*;

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
/// over /etc, /var/lib and /usr/share (the host's own stay untouched)
/// hold the package's /etc/pam-mfa and /usr/share/pam-mfa/publish.env; `tctl` on PATH prints a
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
    for d in ["etc", "varlib", "share"] {
        work.subdir(&format!("upper/{d}"), 0o755);
        work.subdir(&format!("overlay-work/{d}"), 0o755);
    }
    let bin = work.subdir("bin", 0o755);
    std::os::unix::fs::symlink(bins::mfactl(), bin.join("mfactl")).unwrap();
    let testdata = workspace_root().join("agent/src/ctl/publish/testdata");
    // The resources, and the login states in a run of their own.
    work.write(
        "bin/tctl",
        &format!(
            "#!/bin/sh\nif [ \"$2\" = user_login_state ]; then cat {}; else cat {}; fi\n",
            testdata.join("tctl_user_login_states.yaml").display(),
            testdata.join("tctl_with_secrets.yaml").display()
        ),
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
        ("share", "/usr/share"),
    ] {
        script.push_str(&format!(
            "mount -t overlay overlay -o lowerdir={target},upperdir={w}/upper/{d},workdir={w}/overlay-work/{d} {target}\n"
        ));
    }
    script.push_str(&format!(
        "mkdir -p /etc/pam-mfa /usr/share/pam-mfa {w}/t\ncp {env} /usr/share/pam-mfa/publish.env\nexport PATH={bin}:$PATH\ncd /\n",
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

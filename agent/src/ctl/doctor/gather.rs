//! Reading the host for doctor: every command runs under a deadline.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pam_mfa_protocol::{RequestBody, ResponseBody};

use super::login_decisions::{gather_decisions, queries};
use super::sshd::FIXED_KEYWORDS;
use super::sshd_files::{global_settings, match_settings};
use super::sshd_match::MATCH_KEYWORDS;
use super::sshd_t::parse_sshd_t;
use super::sudoers::{passwordless_rules, sudoers_lines, NO_ACCOUNT_STACK, SUDOERS, SUDOERS_D};
use super::sudoers_accounts::{passwordless_logins, GROUP_FILE, PASSWD_FILE};
use super::{Facts, Ownership};
use crate::config::AgentConfig;

/// How long one command (`sshd -T`, `sudo -V`) or the agent may take.
const DEADLINE: Duration = Duration::from_secs(10);
/// sshd's own configuration file, when `--sshd-config` does not name one.
const SSHD_CONFIG: &str = "/etc/ssh/sshd_config";
/// PAM files larger than this are not read.
const MAX_PAM_FILE: u64 = 256 * 1024;

/// Where doctor looks (the defaults are the installed places).
#[derive(Debug, Clone)]
pub struct DoctorArgs {
    pub config: PathBuf,
    pub agent: crate::ctl::AgentSocket,
    pub sshd: PathBuf,
    /// `sshd -f`: another sshd_config than sshd's default.
    pub sshd_config: Option<PathBuf>,
    pub pam_dir: PathBuf,
    /// Linux-PAM's vendor directory (`/usr/lib/pam.d`): a service or an
    /// included file that `pam_dir` lacks is read from there, as PAM does
    /// (polkit 122 ships its file only there). None: `pam_dir` alone.
    pub pam_vendor_dir: Option<PathBuf>,
    pub sudo: PathBuf,
}

/// Where Linux-PAM reads a service's file when /etc/pam.d has none.
pub const PAM_VENDOR_DIR: &str = "/usr/lib/pam.d";

/// `sshd -T [-f CONFIG]`: sshd's effective configuration.
pub fn sshd_effective(sshd: &Path, config: Option<&Path>) -> Result<String, String> {
    sshd_t(sshd, config, &[])
}

fn sshd_t(sshd: &Path, config: Option<&Path>, extra: &[&str]) -> Result<String, String> {
    let mut c = Command::new(sshd);
    c.arg("-T");
    if let Some(f) = config {
        c.arg("-f").arg(f);
    }
    c.args(extra);
    run(&mut c)
}

pub fn gather(args: &DoctorArgs) -> Facts {
    let config = args.sshd_config.as_deref();
    let sshd = sshd_t(&args.sshd, config, &[]);
    let sshd_root = sshd_t(
        &args.sshd,
        config,
        &["-C", "user=root,host=localhost,addr=127.0.0.1"],
    );
    let ak_command_path = match &sshd {
        Ok(text) => parse_sshd_t(text)
            .get("authorizedkeyscommand")
            .and_then(|c| c.split_whitespace().next())
            .filter(|p| p.starts_with('/'))
            .map(|p| owners_up_from(Path::new(p)))
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let main_config = config.unwrap_or(Path::new(SSHD_CONFIG));
    let sshd_match_settings = Some(match_settings(main_config, MATCH_KEYWORDS));
    let sshd_global_settings = Some(global_settings(
        main_config,
        &drop_in_beside(main_config),
        FIXED_KEYWORDS,
    ));
    let agent_config = Some(AgentConfig::load(&args.config).map_err(|e| e.to_string()));
    let agent_status = match crate::ctl::ask(&args.agent, RequestBody::Status, DEADLINE) {
        Ok(ResponseBody::Status(s)) => Ok(s),
        Ok(other) => Err(format!("unexpected answer: {other:?}")),
        Err(e) => Err(e),
    };
    let sudoers_passwordless_logins = passwordless_logins(
        Path::new(SUDOERS),
        Path::new(SUDOERS_D),
        &std::fs::read_to_string(GROUP_FILE).unwrap_or_default(),
        &std::fs::read_to_string(PASSWD_FILE).unwrap_or_default(),
    );
    let logins: Vec<String> = sudoers_passwordless_logins
        .iter()
        .map(|p| p.login.clone())
        .collect();
    let login_decisions = gather_decisions(
        &args.agent,
        agent_status.is_ok(),
        agent_config.as_ref().and_then(|c| c.as_ref().ok()),
        &queries(&logins),
        DEADLINE,
    );
    Facts {
        sshd: Some(sshd),
        sshd_root: Some(sshd_root),
        sshd_match_settings,
        sshd_global_settings,
        ak_command_path,
        pam_files: read_pam_dirs(&args.pam_dir, args.pam_vendor_dir.as_deref()),
        pam_dir: args.pam_dir.display().to_string(),
        sudoers_passwordless: passwordless_rules(Path::new(SUDOERS), Path::new(SUDOERS_D)),
        sudoers_passwordless_logins,
        sudoers_no_account: sudoers_lines(
            Path::new(SUDOERS),
            Path::new(SUDOERS_D),
            NO_ACCOUNT_STACK,
        ),
        sudo_version: run(Command::new(&args.sudo).arg("-V")).ok(),
        agent_config,
        agent_config_path: args.config.display().to_string(),
        shared_uids: super::shared_uids::shared(&crate::host_accounts::names_by_uid()),
        agent_status: Some(agent_status),
        login_decisions,
    }
}

/// pam-mfa's drop-in beside `main`: `/etc/ssh/sshd_config.d/pam-mfa.conf`
/// for sshd's own sshd_config. A relative `main` is taken from the current
/// directory, so the drop-in's path compares with the absolute paths of
/// `Include` lines.
fn drop_in_beside(main: &Path) -> PathBuf {
    let main = std::path::absolute(main).unwrap_or_else(|_| main.to_path_buf());
    main.parent()
        .unwrap_or(Path::new("/"))
        .join("sshd_config.d")
        .join("pam-mfa.conf")
}

/// (path, (uid, mode)) of `program` and of every directory above it.
fn owners_up_from(program: &Path) -> Vec<Ownership> {
    program
        .ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| {
            let m = std::fs::metadata(p)
                .map(|m| (m.uid(), m.mode() & 0o7777))
                .map_err(|e| e.to_string());
            (p.display().to_string(), m)
        })
        .collect()
}

/// The PAM files by name: `dir`'s, and for each name `dir` has no file of,
/// `vendor`'s (Linux-PAM reads /etc/pam.d/NAME, or /usr/lib/pam.d/NAME when
/// there is none; for a service and for an `@include`d or `include`d file
/// alike).
fn read_pam_dirs(dir: &Path, vendor: Option<&Path>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    read_pam_dir(dir, &mut out);
    if let Some(vendor) = vendor {
        let mut more = BTreeMap::new();
        read_pam_dir(vendor, &mut more);
        for (name, text) in more {
            // Any entry in `dir` hides the vendor's file, as PAM finds it
            // there first (even one doctor does not read).
            if !dir.join(&name).exists() {
                out.entry(name).or_insert(text);
            }
        }
    }
    out
}

fn read_pam_dir(dir: &Path, out: &mut BTreeMap<String, String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(meta) = std::fs::metadata(e.path()) else {
            continue;
        };
        if !meta.is_file() || meta.len() > MAX_PAM_FILE {
            continue;
        }
        if let (Some(name), Ok(text)) = (e.file_name().to_str(), std::fs::read_to_string(e.path()))
        {
            out.insert(name.to_string(), text);
        }
    }
}

/// Runs `cmd` (no input) and returns its standard output, or why not.
fn run(cmd: &mut Command) -> Result<String, String> {
    let shown = format!("{cmd:?}").replace('"', "");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{shown}: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if started.elapsed() > DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{shown}: no answer in {DEADLINE:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("{shown}: {e}")),
        }
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    if status.success() {
        Ok(out)
    } else {
        Err(format!("{shown}: {status}: {}", err.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// polkit 122 ships /usr/lib/pam.d/polkit-1 only: doctor reads it, and
    /// the common-* files it includes, as PAM does; a file of /etc/pam.d
    /// hides the vendor's of that name.
    #[test]
    fn a_service_only_in_the_vendor_dir_is_read_from_there() {
        let root = std::env::temp_dir().join(format!("pmfa-pamdirs-{}", std::process::id()));
        let (etc, lib) = (root.join("etc"), root.join("lib"));
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(etc.join("sudo"), "@include common-auth\n").unwrap();
        std::fs::write(etc.join("common-auth"), "auth required pam_unix.so\n").unwrap();
        std::fs::write(lib.join("polkit-1"), "@include common-auth\n").unwrap();
        std::fs::write(lib.join("sudo"), "auth required pam_permit.so\n").unwrap();
        std::fs::write(lib.join("other"), "auth required pam_deny.so\n").unwrap();
        let files = read_pam_dirs(&etc, Some(&lib));
        let alone = read_pam_dirs(&etc, None);
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(files["polkit-1"], "@include common-auth\n");
        assert_eq!(files["sudo"], "@include common-auth\n");
        assert_eq!(files["other"], "auth required pam_deny.so\n");
        assert!(!alone.contains_key("polkit-1"));
        // Read from there, polkit-1 is checked as sudo is: no pam_mfa.so.
        let mut f = crate::ctl::doctor::tests::good();
        f.pam_files
            .insert("polkit-1".into(), files["polkit-1"].clone());
        let ids = crate::ctl::doctor::tests::ids(&f);
        assert_eq!(ids, ["pam.polkit-1.missing"]);
    }
}

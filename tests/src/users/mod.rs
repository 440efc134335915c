//! Unique local users (`mfat<random>`) with authorized_keys, removed on drop
//! (two of one uid too).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use crate::process::{kill_tree, processes_of_uid, run_with_timeout};

/// useradd/userdel take the passwd lock; tests in one binary take turns here and
/// retry when another process holds it.
static ACCOUNTS: Mutex<()> = Mutex::new(());

/// A local account created for one test.
pub struct TestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

impl TestUser {
    /// `useradd -m -s /bin/bash mfat<random>`.
    pub fn create() -> TestUser {
        Self::create_with(&[])
    }

    /// A second account of `uid` (`useradd -o -u`): two passwd entries of
    /// one uid, the earlier one the name getpwuid gives.
    pub fn create_sharing_uid(uid: u32) -> TestUser {
        Self::create_with(&["-o", "-u", &uid.to_string()])
    }

    /// `useradd EXTRA -m -s /bin/bash mfat<random>`.
    fn create_with(extra: &[&str]) -> TestUser {
        let name = crate::unique_name("mfat");
        assert!(name.len() <= 32);
        accounts_cmd(
            Command::new("useradd")
                .args(extra)
                .args(["-m", "-s", "/bin/bash", &name]),
        );
        let (uid, gid, home) = lookup(&name).unwrap_or_else(|| panic!("{name} not in /etc/passwd"));
        TestUser {
            name,
            uid,
            gid,
            home: PathBuf::from(home),
        }
    }

    /// `chage -d 0`: the password must be changed before anything else
    /// (pam_unix's account check then returns PAM_NEW_AUTHTOK_REQD).
    pub fn expire_password(&self) {
        accounts_cmd(Command::new("chage").args(["-d", "0", &self.name]));
    }

    /// Writes `~/.ssh/authorized_keys` (0600 in a 0700 `.ssh`, owned by the user).
    pub fn authorize_keys(&self, lines: &[&str]) {
        let ssh = self.home.join(".ssh");
        std::fs::create_dir_all(&ssh).expect("mkdir .ssh");
        std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        std::os::unix::fs::chown(&ssh, Some(self.uid), Some(self.gid)).expect("chown .ssh");
        let file = ssh.join("authorized_keys");
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(&file, text).expect("write authorized_keys");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        std::os::unix::fs::chown(&file, Some(self.uid), Some(self.gid)).expect("chown");
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        // Sessions the tests opened as this user (nothing else runs as a fresh uid).
        for pid in processes_of_uid(self.uid) {
            kill_tree(pid, Duration::from_millis(200));
        }
        let _guard = ACCOUNTS.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..50 {
            let f = run_with_timeout(
                Command::new("userdel").args(["-r", "-f", &self.name]),
                Duration::from_secs(20),
            );
            // 0: done; 6: no such user; 12: could not remove the home (gone already).
            if matches!(f.code, Some(0) | Some(6) | Some(12)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("WARNING: could not remove test user {}", self.name);
    }
}

/// Runs useradd/userdel-style commands, retrying while the passwd lock is busy.
fn accounts_cmd(cmd: &mut Command) {
    let _guard = ACCOUNTS.lock().unwrap_or_else(|p| p.into_inner());
    let mut last = None;
    for _ in 0..50 {
        let f = run_with_timeout(cmd, Duration::from_secs(20));
        if f.success() {
            return;
        }
        last = Some(f);
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{cmd:?} kept failing: {last:?}");
}

/// (uid, gid, home) from /etc/passwd.
pub fn lookup(name: &str) -> Option<(u32, u32, String)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() >= 6 && f[0] == name {
            Some((f[2].parse().ok()?, f[3].parse().ok()?, f[5].to_string()))
        } else {
            None
        }
    })
}

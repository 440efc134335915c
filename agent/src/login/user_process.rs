//! A process with a user's real uid, for tests of what the agent reads of
//! its peers (a setuid-root sudo run by a user looks so).

use std::time::Duration;

/// A process whose real uid is 65534 (a setuid-root sudo run by a user
/// looks so to the agent), killed on drop; `None` when not root.
pub(super) struct UserProcess(std::process::Child);

impl UserProcess {
    pub(super) fn start() -> Option<UserProcess> {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipped: needs root to run a process with another real uid");
            return None;
        }
        let child = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "sleep", "30"])
            .spawn()
            .expect("setpriv");
        let p = UserProcess(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while crate::ipc::pinned_real_uid_of(p.pid()) != Some(65534)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        Some(p)
    }

    pub(super) fn pid(&self) -> i32 {
        i32::try_from(self.0.id()).expect("pid")
    }
}

impl Drop for UserProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

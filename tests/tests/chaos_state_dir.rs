//! Chaos (issue 11 item 4), the state directory: full (a tmpfs filled to
//! ENOSPC) or read-only (remounted), in a mount namespace private to the
//! test's thread. Taps are still verified, each unsaved signature counter
//! is reported (a `state_write` audit event), and the counters never go
//! back or start from zero.

use std::ffi::CString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use mfa_agent::challenge::SignatureCounters;
use pam_mfa_e2e::{require_root, unique_name};

/// Runs `f` on a thread of its own with a private mount namespace (the
/// thread's own fs context, so the test process's other threads are not
/// affected) where mounts do not propagate back to the host.
fn in_private_mounts<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: unshare(2) of this thread's fs context and mount
            // namespace; no memory is shared with Rust.
            let rc = unsafe { libc::unshare(libc::CLONE_FS | libc::CLONE_NEWNS) };
            assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
            sys_mount(
                None,
                Path::new("/"),
                None,
                libc::MS_REC | libc::MS_PRIVATE,
                None,
            );
            f()
        })
        .join()
        .unwrap()
    })
}

fn sys_mount(
    source: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) {
    let c = |s: Option<&str>| s.map(|s| CString::new(s).unwrap());
    let (source, fstype, data) = (c(source), c(fstype), c(data));
    let target = CString::new(target.to_str().unwrap()).unwrap();
    let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: every pointer is a NUL-terminated string that outlives the call,
    // or null where mount(2) allows it.
    let rc = unsafe {
        libc::mount(
            ptr(&source),
            target.as_ptr(),
            ptr(&fstype),
            flags,
            ptr(&data).cast(),
        )
    };
    assert_eq!(rc, 0, "mount: {}", std::io::Error::last_os_error());
}

/// Fills the file system of `dir` until a write fails with ENOSPC.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = File::create(&path).unwrap();
    let block = vec![0u8; 4096];
    loop {
        match f.write_all(&block) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling {}: {e}", dir.display()),
        }
    }
    path
}

fn reporting(counters: &SignatureCounters) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    counters.report_save_failures(Box::new(move |why: &str| {
        sink.lock().unwrap().push(why.to_string())
    }));
    seen
}

fn scratch(label: &str) -> PathBuf {
    let d = std::env::temp_dir().join(unique_name(&format!("pam-mfa-chaos-{label}-")));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The state directory fills up (ENOSPC): a tap is still verified (against
/// the counters in memory, which never go back), the failure is reported in
/// words, the file keeps its last good counters (replaced atomically, never
/// truncated, so a restart does not start from zero), and the next save
/// that works writes every counter.
#[test]
fn a_full_state_dir_keeps_the_counters_and_says_so() {
    require_root!();
    let mount = scratch("full");
    let state = mount.join("state");
    in_private_mounts(|| {
        sys_mount(
            Some("tmpfs"),
            &mount,
            Some("tmpfs"),
            0,
            Some("size=64k,mode=0700"),
        );
        let counters = SignatureCounters::default();
        let reports = reporting(&counters);
        assert_eq!(counters.persist_in(&state).unwrap(), 0);
        counters.check_and_record("jerry/k1", 5).unwrap();
        let file = state.join(mfa_agent::challenge::COUNTERS_FILE);
        let good = std::fs::read(&file).unwrap();
        let filler = fill(&mount);
        counters
            .check_and_record("jerry/k1", 6)
            .expect("a good tap is still verified");
        let said = reports.lock().unwrap().clone();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].contains("No space left on device"), "{said:?}");
        assert!(said[0].contains("kept in memory only"), "{said:?}");
        assert_eq!(std::fs::read(&file).unwrap(), good, "the file is intact");
        assert!(
            counters.check_and_record("jerry/k1", 6).is_err(),
            "the counter in memory did not go back"
        );
        let restarted = SignatureCounters::default();
        assert_eq!(restarted.persist_in(&state).unwrap(), 1);
        assert!(
            restarted.check_and_record("jerry/k1", 5).is_err(),
            "a restart does not start from zero"
        );
        std::fs::remove_file(filler).unwrap();
        counters.check_and_record("jerry/k1", 7).unwrap();
        let caught_up = SignatureCounters::default();
        caught_up.persist_in(&state).unwrap();
        assert!(caught_up.check_and_record("jerry/k1", 7).is_err());
        assert_eq!(reports.lock().unwrap().len(), 1, "no failure once saved");
    });
    std::fs::remove_dir_all(&mount).unwrap();
}

/// The state directory is read-only: taps are still verified, and each
/// unsaved counter is a `state_write` audit event with the reason.
#[test]
fn a_read_only_state_dir_is_audited_and_taps_still_verified() {
    require_root!();
    let mount = scratch("ro");
    let state_dir = mount.join("state");
    let audit_path = std::env::temp_dir().join(unique_name("pam-mfa-chaos-audit-"));
    in_private_mounts(|| {
        sys_mount(
            Some("tmpfs"),
            &mount,
            Some("tmpfs"),
            0,
            Some("size=64k,mode=0700"),
        );
        let cfg = mfa_agent::config::AgentConfig::parse("node: {name: n}\n", "t").unwrap();
        let audit = File::create(&audit_path).unwrap();
        let state = mfa_agent::state::AgentState::new(
            cfg,
            mfa_agent::audit::AuditSink::File(Mutex::new(audit)),
            Arc::new(SystemTime::now),
        )
        .unwrap();
        let counters = &state.signature_counters;
        counters.persist_in(&state_dir).unwrap();
        counters.check_and_record("jerry/k1", 1).unwrap();
        sys_mount(None, &mount, None, libc::MS_REMOUNT | libc::MS_RDONLY, None);
        counters
            .check_and_record("jerry/k1", 2)
            .expect("a good tap is still verified");
        assert!(counters.check_and_record("jerry/k1", 2).is_err());
        let audit = std::fs::read_to_string(&audit_path).unwrap();
        let line = audit
            .lines()
            .find(|l| l.contains("\"state_write\""))
            .unwrap_or_else(|| panic!("no state_write event:\n{audit}"));
        let ev: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(ev["result"], "error", "{ev}");
        let reason = ev["reason"].as_str().unwrap();
        assert!(reason.contains("Read-only file system"), "{reason}");
        assert!(reason.contains("jerry/k1"), "{reason}");
    });
    std::fs::remove_dir_all(&mount).unwrap();
    let _ = std::fs::remove_file(&audit_path);
}

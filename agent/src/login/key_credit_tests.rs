//! What sshd enforced for a security key, as credited: the user's file
//! line only while nothing on the way to it changed since sshd's
//! connection began, the served line, sshd's global options.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::auth_info::AcceptedKey;
use super::authorized_keys_changes::KeyFilesState;
use super::authorized_keys_file::UserFileVerdict;
use super::evidence::KeyClass;
use super::flow_tests::BLOB;
use super::key_credit::{credit, file_verdict, GlobalOptions};
use super::served_keys_table::Served;

const NONE: GlobalOptions = GlobalOptions {
    touch_required: false,
    verify_required: false,
};

#[test]
fn served_keys_keep_their_credit() {
    let nl = UserFileVerdict::NotListed;
    assert_eq!(credit(&nl, Some(true), NONE).0, KeyClass::TouchAndPin);
    assert_eq!(credit(&nl, Some(false), NONE).0, KeyClass::Touch);
    assert_eq!(credit(&nl, None, NONE).0, KeyClass::Hardware);
}

#[test]
fn ambiguous_files_credit_only_global_options() {
    let amb = UserFileVerdict::Ambiguous("the key is on 2 lines".into());
    let (class, note) = credit(&amb, Some(true), NONE);
    assert_eq!(class, KeyClass::Hardware, "a served line does not help");
    assert!(note.contains("2 lines"), "{note}");
    let both = GlobalOptions {
        touch_required: true,
        verify_required: true,
    };
    assert_eq!(credit(&amb, None, both).0, KeyClass::TouchAndPin);
    let touch = GlobalOptions {
        touch_required: true,
        verify_required: false,
    };
    assert_eq!(credit(&amb, Some(true), touch).0, KeyClass::Touch);
    let unv = UserFileVerdict::Unverifiable("is a symlink".into());
    assert_eq!(credit(&unv, Some(true), NONE).0, KeyClass::Hardware);
}

#[test]
fn one_file_line_gives_what_both_lines_guarantee() {
    let pin_line = UserFileVerdict::Listed {
        no_touch_required: false,
        verify_required: true,
    };
    assert_eq!(credit(&pin_line, None, NONE).0, KeyClass::TouchAndPin);
    assert_eq!(credit(&pin_line, Some(false), NONE).0, KeyClass::Touch);
    let untouched = UserFileVerdict::Listed {
        no_touch_required: true,
        verify_required: false,
    };
    assert_eq!(credit(&untouched, Some(true), NONE).0, KeyClass::Hardware);
}

const SK: &str = "sk-ssh-ed25519@openssh.com";
const FILES: [&str; 2] = [".ssh/authorized_keys", ".ssh/authorized_keys2"];

/// A home directory of its own, removed at the end.
struct Home(PathBuf);

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn home(tag: &str) -> Home {
    let h = std::env::temp_dir().join(format!("pam-mfa-kc-{tag}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&h);
    std::fs::create_dir_all(h.join(".ssh")).unwrap();
    Home(h)
}

impl Home {
    fn write(&self, file: &str, options: &str) {
        std::fs::write(self.0.join(file), format!("{options}{SK} {BLOB} me\n")).unwrap();
    }

    /// The files' verdict for a connection that began at `began`.
    fn verdict(&self, served: Option<&Served>, began: Option<SystemTime>) -> UserFileVerdict {
        let files: Vec<String> = FILES.iter().map(|f| f.to_string()).collect();
        let key = AcceptedKey {
            key_type: SK.into(),
            blob: BLOB.into(),
        };
        file_verdict(&files, "j", &self.0, &key, served, began)
    }
}

/// A connection that begins now, a while after the files were written
/// (their change times are well before it).
fn connection_begins() -> SystemTime {
    std::thread::sleep(Duration::from_millis(60));
    SystemTime::now()
}

const PIN_LINE: UserFileVerdict = UserFileVerdict::Listed {
    no_touch_required: false,
    verify_required: true,
};

#[test]
fn a_line_unchanged_since_the_connection_began_keeps_its_credit() {
    let h = home("unchanged");
    h.write(".ssh/authorized_keys", "verify-required ");
    let began = connection_begins();
    let v = h.verdict(None, Some(began));
    assert_eq!(v, PIN_LINE);
    assert_eq!(credit(&v, None, NONE).0, KeyClass::TouchAndPin);
}

/// The reviewer's case: sshd accepted a touch without PIN from a plain
/// line, then the user made it `verify-required` before PAM read it.
#[test]
fn a_line_rewritten_after_the_connection_began_earns_no_option_credit() {
    let h = home("rewritten");
    h.write(".ssh/authorized_keys", "");
    let began = connection_begins();
    h.write(".ssh/authorized_keys", "verify-required ");
    let v = h.verdict(None, Some(began));
    assert!(
        matches!(&v, UserFileVerdict::Ambiguous(w) if w.contains("authorized_keys changed after sshd's connection began")),
        "{v:?}"
    );
    assert_eq!(credit(&v, None, NONE).0, KeyClass::Hardware);
    // sshd's own options still count.
    let touch = GlobalOptions {
        touch_required: true,
        verify_required: false,
    };
    assert_eq!(credit(&v, None, touch).0, KeyClass::Touch);
}

/// A prepared directory moved in place of ~/.ssh: its file is old, the
/// directory's change time is not.
#[test]
fn a_key_directory_moved_in_after_the_connection_began_earns_no_option_credit() {
    let h = home("swapped");
    h.write(".ssh/authorized_keys", "");
    std::fs::create_dir_all(h.0.join(".ssh2")).unwrap();
    h.write(".ssh2/authorized_keys", "verify-required ");
    let began = connection_begins();
    assert!(matches!(
        h.verdict(None, Some(began)),
        UserFileVerdict::Listed {
            verify_required: false,
            ..
        }
    ));
    std::fs::rename(h.0.join(".ssh"), h.0.join(".ssh-old")).unwrap();
    std::fs::rename(h.0.join(".ssh2"), h.0.join(".ssh")).unwrap();
    let v = h.verdict(None, Some(began));
    assert!(
        matches!(&v, UserFileVerdict::Ambiguous(w) if w.contains(".ssh")),
        "{v:?}"
    );
}

/// sshd used a plain line of the first file, since removed: the line
/// left in the second file is not what sshd applied.
#[test]
fn a_file_removed_after_the_connection_began_voids_the_other_files_line() {
    let h = home("removed");
    h.write(".ssh/authorized_keys", "");
    h.write(".ssh/authorized_keys2", "verify-required ");
    let began = connection_begins();
    assert!(matches!(
        h.verdict(None, Some(began)),
        UserFileVerdict::Ambiguous(w) if w.contains("2 lines")
    ));
    std::fs::remove_file(h.0.join(".ssh/authorized_keys")).unwrap();
    let v = h.verdict(None, Some(began));
    assert!(
        matches!(&v, UserFileVerdict::Ambiguous(w) if w.contains("changed after")),
        "{v:?}"
    );
}

#[test]
fn an_unknown_connection_start_earns_no_file_option_credit() {
    let h = home("unknown");
    h.write(".ssh/authorized_keys", "verify-required ");
    connection_begins();
    let v = h.verdict(None, None);
    assert!(
        matches!(&v, UserFileVerdict::Ambiguous(w) if w.contains("not known")),
        "{v:?}"
    );
}

/// A key served by pam-mfa and in none of the files: a change between
/// the connection's start and the serve (sshd read the files in
/// between) voids the served line's credit too.
#[test]
fn a_change_before_the_serve_but_after_the_connection_began_counts() {
    let h = home("served");
    std::fs::write(h.0.join(".ssh/authorized_keys"), "# none\n").unwrap();
    let began = connection_begins();
    std::fs::write(h.0.join(".ssh/authorized_keys"), "# none, again\n").unwrap();
    std::thread::sleep(Duration::from_millis(60));
    let files: Vec<String> = FILES.iter().map(|f| f.to_string()).collect();
    let served = Served {
        verify_required: true,
        at: SystemTime::now(),
        files: KeyFilesState::of(&files, "j", &h.0),
    };
    assert_eq!(h.verdict(Some(&served), None), UserFileVerdict::NotListed);
    assert!(matches!(
        h.verdict(Some(&served), Some(began)),
        UserFileVerdict::Ambiguous(_)
    ));
}

/// Whatever the line, the served line and sshd's options, what the
/// change check makes of a line (ambiguous) never earns more.
#[test]
fn voiding_a_line_never_adds_credit() {
    let parts = |c: KeyClass| match c {
        KeyClass::TouchAndPin => (true, true),
        KeyClass::Touch => (true, false),
        KeyClass::Pin => (false, true),
        _ => (false, false),
    };
    let amb = UserFileVerdict::Ambiguous("changed".into());
    for bits in 0..16u8 {
        let [ntr, vr, tr, gv] = [1, 2, 4, 8].map(|b| bits & b != 0);
        let listed = UserFileVerdict::Listed {
            no_touch_required: ntr,
            verify_required: vr,
        };
        let global = GlobalOptions {
            touch_required: tr,
            verify_required: gv,
        };
        for served in [None, Some(false), Some(true)] {
            let (lt, lp) = parts(credit(&listed, served, global).0);
            let (at, ap) = parts(credit(&amb, served, global).0);
            assert!(
                (!at || lt) && (!ap || lp),
                "{listed:?} {served:?} {global:?}"
            );
        }
    }
}

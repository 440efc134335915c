//! Which files sshd reads keys from, and how they are read.

use super::*;
use std::os::unix::fs::symlink;

const T: &str = "sk-ssh-ed25519@openssh.com";

/// A key blob in base64 (any bytes do).
const BLOB: &str = "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MDEyMzQ1AAAABHNzaDo=";

fn verdict_for(text: &str) -> UserFileVerdict {
    let home = std::env::temp_dir().join(format!(
        "pam-mfa-akv-{}-{:x}",
        std::process::id(),
        text.len() * 31 + text.bytes().map(usize::from).sum::<usize>()
    ));
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/authorized_keys"), text).unwrap();
    let files = vec![".ssh/authorized_keys".to_string()];
    let v = user_file_verdict(&files, "u", &home, T, BLOB);
    std::fs::remove_dir_all(&home).unwrap();
    v
}

#[test]
fn one_plain_line_gives_its_options() {
    let text = format!(
        "# comment\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOther x\ncommand=\"echo a, b\",no-touch-required {T} {BLOB} me\n"
    );
    assert_eq!(
        verdict_for(&text),
        UserFileVerdict::Listed {
            no_touch_required: true,
            verify_required: false
        }
    );
    assert_eq!(
        verdict_for(&format!("verify-required {T} {BLOB}\n")),
        UserFileVerdict::Listed {
            no_touch_required: false,
            verify_required: true
        }
    );
    assert_eq!(
        verdict_for(&format!("cert-authority {T} {BLOB}\n")),
        UserFileVerdict::NotListed
    );
}

/// The text-only reading (the fuzzers' entry) agrees with the files'.
#[test]
fn find_key_reads_text_as_the_files_are_read() {
    assert_eq!(find_key("# nothing\n", T, BLOB), None);
    assert_eq!(
        find_key(&format!("verify-required {T} {BLOB}\n"), T, BLOB),
        Some(UserFileVerdict::Listed {
            no_touch_required: false,
            verify_required: true
        })
    );
    let twice = format!("{T} {BLOB} a\nverify-required {T} {BLOB} b\n");
    assert!(matches!(
        find_key(&twice, T, BLOB),
        Some(UserFileVerdict::Ambiguous(w)) if w.contains("2 lines")
    ));
    // A blob not written plainly is never found "listed".
    let unpadded = BLOB.trim_end_matches('=');
    let text = format!("{T} {BLOB}\n");
    assert!(matches!(
        find_key(&text, T, unpadded),
        Some(UserFileVerdict::Unverifiable(_))
    ));
}

#[test]
fn a_restricted_line_before_a_plain_one_is_ambiguous() {
    // sshd skips line 1 for any other source address and uses line 2,
    // which asks for no PIN.
    let text = format!("from=\"203.0.113.1\",verify-required {T} {BLOB}\n{T} {BLOB}\n");
    assert!(matches!(verdict_for(&text), UserFileVerdict::Ambiguous(w) if w.contains("2 lines")));
    // Alone, a restricted line may still be skipped (for pam-mfa's line).
    let text = format!("from=\"203.0.113.1\",verify-required {T} {BLOB}\n");
    assert!(matches!(verdict_for(&text), UserFileVerdict::Ambiguous(w) if w.contains("from")));
}

#[test]
fn the_key_on_two_lines_is_ambiguous() {
    let text = format!("verify-required {T} {BLOB} a\nverify-required {T} {BLOB} b\n");
    assert!(matches!(verdict_for(&text), UserFileVerdict::Ambiguous(_)));
}

#[test]
fn escaped_quotes_are_ambiguous() {
    let text = format!("command=\"echo \\\" x\",verify-required {T} {BLOB}\n");
    assert!(
        matches!(verdict_for(&text), UserFileVerdict::Ambiguous(w) if w.contains("authorized_keys:1"))
    );
}

#[test]
fn reads_files_and_refuses_symlinks() {
    let home = std::env::temp_dir().join(format!("pam-mfa-akf-{}", std::process::id()));
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    let files = vec![
        ".ssh/authorized_keys".to_string(),
        "/nonexistent/%u".to_string(),
    ];
    assert_eq!(
        user_file_verdict(&files, "u", &home, T, BLOB),
        UserFileVerdict::NotListed
    );
    std::fs::write(
        home.join(".ssh/authorized_keys"),
        format!("no-touch-required {T} {BLOB}\n"),
    )
    .unwrap();
    assert_eq!(
        user_file_verdict(&files, "u", &home, T, BLOB),
        UserFileVerdict::Listed {
            no_touch_required: true,
            verify_required: false
        }
    );
    std::fs::remove_file(home.join(".ssh/authorized_keys")).unwrap();
    symlink("/etc/hostname", home.join(".ssh/authorized_keys")).unwrap();
    assert!(matches!(
        user_file_verdict(&files, "u", &home, T, BLOB),
        UserFileVerdict::Unverifiable(_)
    ));
    std::fs::remove_file(home.join(".ssh/authorized_keys")).unwrap();
    std::fs::remove_dir(home.join(".ssh")).unwrap();
    symlink("/etc", home.join(".ssh")).unwrap();
    assert!(matches!(
        user_file_verdict(&files, "u", &home, T, BLOB),
        UserFileVerdict::Unverifiable(_)
    ));
    std::fs::remove_dir_all(&home).unwrap();
}

/// `AuthorizedKeysFile none`: sshd reads no file, not `~/none`.
#[test]
fn none_names_no_file() {
    let home = std::env::temp_dir().join(format!("pam-mfa-akn-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    for name in ["none", "NONE"] {
        std::fs::write(home.join(name), format!("verify-required {T} {BLOB}\n")).unwrap();
    }
    let files = vec!["none".to_string(), "NONE".to_string()];
    assert_eq!(
        user_file_verdict(&files, "u", &home, T, BLOB),
        UserFileVerdict::NotListed
    );
    // A real file beside it is still read.
    let files = vec!["none".to_string(), "NONE".to_string(), "other".to_string()];
    std::fs::write(home.join("other"), format!("{T} {BLOB}\n")).unwrap();
    assert_eq!(
        user_file_verdict(&files, "u", &home, T, BLOB),
        UserFileVerdict::Listed {
            no_touch_required: false,
            verify_required: false
        }
    );
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn expands_tokens() {
    let home = Path::new("/home/j");
    assert_eq!(
        expand(".ssh/authorized_keys", "j", home),
        PathBuf::from("/home/j/.ssh/authorized_keys")
    );
    assert_eq!(
        expand("/etc/ssh/keys/%u", "j", home),
        PathBuf::from("/etc/ssh/keys/j")
    );
    assert_eq!(expand("%h/k%%", "j", home), PathBuf::from("/home/j/k%"));
}

//! What the user's own authorized_keys files say about a key.
//!
//! sshd reads `AuthorizedKeysFile` before `AuthorizedKeysCommand`, so a line
//! in the user's file wins over the line pam-mfa serves: a user could list
//! their registered security key there with `no-touch-required`. The agent
//! reads those files (as root, never following a symlink below the home
//! directory, never blocking on a FIFO) to know which options sshd applied.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{openat, Mode, OFlags, CWD};

/// The options of the first line in the user's files that lists the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserFileVerdict {
    /// No file lists the key: sshd used pam-mfa's line.
    NotListed,
    /// A file lists it with these options (sshd applied these).
    Listed {
        no_touch_required: bool,
        verify_required: bool,
    },
    /// A file could not be checked (a symlink, not a regular file, too
    /// large): sshd may have used any options from it.
    Unverifiable(String),
}

const MAX_FILE: u64 = 1 << 20;

/// Looks for `key_type blob` in the user's authorized_keys files.
pub fn user_file_verdict(
    files: &[String],
    login: &str,
    home: &Path,
    key_type: &str,
    blob: &str,
) -> UserFileVerdict {
    for pattern in files {
        let path = expand(pattern, login, home);
        // Directories above the home directory (or above an admin-chosen
        // absolute file) belong to root and may be symlinks; below the home
        // directory everything is the user's, so nothing there is followed.
        let (base, rel) = match path.strip_prefix(home) {
            Ok(rel) => (home.to_path_buf(), rel.to_path_buf()),
            Err(_) => match (path.parent(), path.file_name()) {
                (Some(parent), Some(name)) => (parent.to_path_buf(), PathBuf::from(name)),
                _ => continue,
            },
        };
        match read_no_follow(&base, &rel) {
            Ok(None) => continue,
            Ok(Some(text)) => {
                if let Some(v) = find_key(&text, key_type, blob) {
                    return v;
                }
            }
            Err(why) => return UserFileVerdict::Unverifiable(format!("{}: {why}", path.display())),
        }
    }
    UserFileVerdict::NotListed
}

/// sshd's tokens for AuthorizedKeysFile: %h, %u, %U, %%.
fn expand(pattern: &str, login: &str, home: &Path) -> PathBuf {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('h') => out.push_str(&home.display().to_string()),
            Some('u') => out.push_str(login),
            Some('U') => {
                let uid = nix::unistd::User::from_name(login)
                    .ok()
                    .flatten()
                    .map(|u| u.uid.as_raw());
                out.push_str(&uid.map(|u| u.to_string()).unwrap_or_default());
            }
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    let p = PathBuf::from(out);
    if p.is_absolute() {
        p
    } else {
        home.join(p)
    }
}

/// Opens `base` (root-controlled; symlinks allowed) and reads `rel` below it
/// without following any symlink. `Ok(None)`: it does not exist.
fn read_no_follow(base: &Path, rel: &Path) -> Result<Option<String>, String> {
    let mut dir: OwnedFd = match openat(
        CWD,
        base,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let names: Vec<_> = rel.components().collect();
    if names.is_empty() {
        return Err("names a directory".into());
    }
    for (i, comp) in names.iter().enumerate() {
        let Component::Normal(name) = comp else {
            return Err("path has '..' or '.' components".into());
        };
        let last = i + 1 == names.len();
        let flags = OFlags::NOFOLLOW
            | OFlags::CLOEXEC
            | OFlags::NONBLOCK
            | if last {
                OFlags::RDONLY
            } else {
                OFlags::RDONLY | OFlags::DIRECTORY
            };
        match openat(&dir, *name, flags, Mode::empty()) {
            Ok(fd) => dir = fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(rustix::io::Errno::LOOP) => return Err("is a symlink".into()),
            Err(rustix::io::Errno::NOTDIR) => {
                return Err("a component is not a directory (or is a symlink)".into())
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    let st = rustix::fs::fstat(&dir).map_err(|e| e.to_string())?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
        return Err("not a regular file".into());
    }
    if st.st_size as u64 > MAX_FILE {
        return Err("larger than 1 MiB".into());
    }
    let mut text = String::new();
    std::fs::File::from(dir)
        .take(MAX_FILE)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    Ok(Some(text))
}

/// Finds the first line listing the key and reads its options (public for
/// the fuzzers in `fuzz/`).
pub fn find_key(text: &str, key_type: &str, blob: &str) -> Option<UserFileVerdict> {
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (options, rest) = split_options(line);
        let mut parts = rest.split_ascii_whitespace();
        let (Some(t), Some(b)) = (parts.next(), parts.next()) else {
            continue;
        };
        if t != key_type || b != blob {
            continue;
        }
        let opts: Vec<String> = split_option_list(options)
            .iter()
            .map(|o| o.to_ascii_lowercase())
            .collect();
        if opts.iter().any(|o| o == "cert-authority") {
            continue;
        }
        return Some(UserFileVerdict::Listed {
            no_touch_required: opts.iter().any(|o| o == "no-touch-required"),
            verify_required: opts.iter().any(|o| o == "verify-required"),
        });
    }
    None
}

/// Splits `[options] keytype blob comment` into the options text and the rest.
fn split_options(line: &str) -> (&str, &str) {
    let first = line.split_ascii_whitespace().next().unwrap_or("");
    if is_key_type(first) {
        return ("", line);
    }
    let mut in_quote = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            ' ' | '\t' if !in_quote => return (&line[..i], line[i..].trim_start()),
            _ => {}
        }
    }
    (line, "")
}

fn is_key_type(word: &str) -> bool {
    word.starts_with("ssh-") || word.starts_with("ecdsa-") || word.starts_with("sk-")
}

/// Option names only (values dropped): `a,b="x,y",c` → [a, b, c].
fn split_option_list(options: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    for c in options.chars() {
        match c {
            '"' => in_quote = !in_quote,
            ',' if !in_quote => out.push(std::mem::take(&mut cur)),
            _ if !in_quote => cur.push(c),
            _ => {}
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|o| o.split('=').next().unwrap_or("").trim().to_string())
        .filter(|o| !o.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    const T: &str = "sk-ssh-ed25519@openssh.com";

    #[test]
    fn finds_options_of_the_first_matching_line() {
        let text = format!(
            "# comment\nssh-ed25519 AAAAother x\ncommand=\"echo a, b\",no-touch-required {T} BLOB me\n{T} BLOB again\n"
        );
        assert_eq!(
            find_key(&text, T, "BLOB"),
            Some(UserFileVerdict::Listed {
                no_touch_required: true,
                verify_required: false
            })
        );
        let text = format!("verify-required {T} BLOB\n");
        assert_eq!(
            find_key(&text, T, "BLOB"),
            Some(UserFileVerdict::Listed {
                no_touch_required: false,
                verify_required: true
            })
        );
        assert_eq!(find_key(&format!("{T} OTHER\n"), T, "BLOB"), None);
        assert_eq!(
            find_key(&format!("cert-authority {T} BLOB\n"), T, "BLOB"),
            None
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
            user_file_verdict(&files, "u", &home, T, "BLOB"),
            UserFileVerdict::NotListed
        );
        std::fs::write(
            home.join(".ssh/authorized_keys"),
            format!("no-touch-required {T} BLOB\n"),
        )
        .unwrap();
        assert_eq!(
            user_file_verdict(&files, "u", &home, T, "BLOB"),
            UserFileVerdict::Listed {
                no_touch_required: true,
                verify_required: false
            }
        );
        std::fs::remove_file(home.join(".ssh/authorized_keys")).unwrap();
        symlink("/etc/hostname", home.join(".ssh/authorized_keys")).unwrap();
        assert!(matches!(
            user_file_verdict(&files, "u", &home, T, "BLOB"),
            UserFileVerdict::Unverifiable(_)
        ));
        std::fs::remove_file(home.join(".ssh/authorized_keys")).unwrap();
        std::fs::remove_dir(home.join(".ssh")).unwrap();
        symlink("/etc", home.join(".ssh")).unwrap();
        assert!(matches!(
            user_file_verdict(&files, "u", &home, T, "BLOB"),
            UserFileVerdict::Unverifiable(_)
        ));
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
}

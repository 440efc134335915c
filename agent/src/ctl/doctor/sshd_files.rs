//! sshd_config and the files it includes, read as sshd reads them, for
//! what `sshd -T` does not show: the settings of `Match` blocks, which hold
//! for some connections only (sshd -T without `-C` leaves every Match
//! block out, `Match all` too), and which file set the value sshd uses
//! (outside Match blocks the first value sshd reads wins).
//!
//! As in OpenSSH's servconf.c: a `Match` line starts a block that lasts to
//! the next `Match` or the end of its file; an `Include` inside a block
//! brings the included lines into it; a block opened in an included file
//! ends with that file; a relative `Include` is in /etc/ssh; a pattern
//! that matches nothing includes nothing.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where sshd looks for a relative `Include`.
const SSHD_DIR: &str = "/etc/ssh";
/// sshd's limit on nested `Include`s (READCONF_MAX_DEPTH).
const MAX_DEPTH: usize = 16;
/// Larger configuration files are not read.
const MAX_FILE: u64 = 1024 * 1024;

/// A keyword set inside a `Match` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchSetting {
    /// `file:line` of the setting.
    pub at: String,
    /// The keyword as written, and its value.
    pub keyword: String,
    pub value: String,
    /// The criteria of the `Match` line whose block holds it.
    pub criteria: String,
}

/// A keyword set outside any `Match` block: where, and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalSetting {
    /// `file:line` of the setting.
    pub at: String,
    /// The keyword as written, and its value.
    pub keyword: String,
    pub value: String,
}

/// Keywords sshd reads as another one (servconf.c's table): lower case.
const ALIASES: &[(&str, &str)] = &[(
    "challengeresponseauthentication",
    "kbdinteractiveauthentication",
)];

/// One setting as read: the criteria of its Match block (none outside
/// one), `file:line`, the keyword as written, its value.
type Visit<'a> = dyn FnMut(Option<&str>, String, &str, &str) + 'a;

/// The settings of `keywords` (lower case) inside Match blocks of `main`
/// and of every file it includes, or why they could not all be read.
pub fn match_settings(main: &Path, keywords: &[&str]) -> Result<Vec<MatchSetting>, String> {
    let mut out = Vec::new();
    read_config(main, None, 0, &mut |criteria, at, keyword, value| {
        let lower = keyword.to_ascii_lowercase();
        if let Some(c) = criteria.filter(|_| keywords.contains(&lower.as_str())) {
            out.push(MatchSetting {
                at,
                keyword: keyword.to_string(),
                value: value.to_string(),
                criteria: c.to_string(),
            });
        }
    })?;
    Ok(out)
}

/// For each of `keywords` (lower case) set outside Match blocks of `main`
/// and the files it includes, the first setting sshd reads: the one whose
/// value it uses (servconf.c keeps an option's first value). An alias
/// (`ChallengeResponseAuthentication`) counts as the keyword it stands for.
pub fn first_settings(
    main: &Path,
    keywords: &[&str],
) -> Result<BTreeMap<String, GlobalSetting>, String> {
    let mut out = BTreeMap::new();
    read_config(main, None, 0, &mut |criteria, at, keyword, value| {
        let mut lower = keyword.to_ascii_lowercase();
        if let Some((_, real)) = ALIASES.iter().find(|(alias, _)| *alias == lower) {
            lower = real.to_string();
        }
        if criteria.is_none() && keywords.contains(&lower.as_str()) {
            out.entry(lower).or_insert_with(|| GlobalSetting {
                at,
                keyword: keyword.to_string(),
                value: value.to_string(),
            });
        }
    })?;
    Ok(out)
}

fn read_config(
    path: &Path,
    outer: Option<&str>,
    depth: usize,
    visit: &mut Visit,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "{}: Include nested deeper than {MAX_DEPTH}",
            path.display()
        ));
    }
    let text = read_limited(path)?;
    let mut criteria = outer.map(str::to_string);
    for (n, line) in text.lines().enumerate() {
        let Some((keyword, value)) = split_line(line) else {
            continue;
        };
        let lower = keyword.to_ascii_lowercase();
        match lower.as_str() {
            "match" => criteria = Some(value.to_string()),
            "include" => {
                for pattern in value.split_whitespace() {
                    for file in included(pattern.trim_matches('"'))? {
                        read_config(&file, criteria.as_deref(), depth + 1, visit)?;
                    }
                }
            }
            _ => visit(
                criteria.as_deref(),
                format!("{}:{}", path.display(), n + 1),
                keyword,
                value,
            ),
        }
    }
    Ok(())
}

/// A configuration line's keyword and value (`Keyword value`,
/// `Keyword=value`); none for blank lines and comments.
fn split_line(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (keyword, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
    Some((keyword, rest))
}

fn read_limited(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if text.len() as u64 > MAX_FILE {
        return Err(format!("{}: larger than {MAX_FILE} bytes", path.display()));
    }
    Ok(text)
}

/// The files an `Include` pattern names, sorted as glob(3) sorts them.
/// Wildcards (`*`, `?`) are expanded in the last component only.
fn included(pattern: &str) -> Result<Vec<PathBuf>, String> {
    let path = Path::new(SSHD_DIR).join(pattern);
    let wild = |s: &str| s.contains(['*', '?', '[']);
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Ok(Vec::new());
    };
    if wild(&dir.to_string_lossy()) || name.contains('[') {
        return Err(format!(
            "Include {pattern}: doctor expands * and ? in the file name only"
        ));
    }
    if !wild(name) {
        return Ok(if path.exists() {
            vec![path]
        } else {
            Vec::new()
        });
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| !n.starts_with('.') && glob_match(name.as_bytes(), n.as_bytes()))
        .map(|n| dir.join(n))
        .collect();
    files.sort();
    Ok(files)
}

/// `*` and `?` as glob(3) reads them in one path component.
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob_match(&pattern[1..], name) || (!name.is_empty() && glob_match(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob_match(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob_match(&pattern[1..], &name[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[&str] = &["pubkeyauthoptions", "authorizedkeysfile"];

    #[test]
    fn lines_and_globs_as_sshd_reads_them() {
        assert_eq!(
            split_line("  PubkeyAuthOptions=none"),
            Some(("PubkeyAuthOptions", "none"))
        );
        assert_eq!(split_line("Match User bob"), Some(("Match", "User bob")));
        assert_eq!(split_line("A = b c"), Some(("A", "b c")));
        assert_eq!(split_line("  # Match all"), None);
        assert!(glob_match(b"*.conf", b"pam-mfa.conf"));
        assert!(!glob_match(b"*.conf", b"pam-mfa.conf.bak"));
        assert!(glob_match(b"a?c*", b"abc"));
    }

    #[test]
    fn match_blocks_end_with_their_file_and_carry_into_includes() {
        let dir =
            std::env::temp_dir().join(format!("mfa-doctor-sshd-files-{}", std::process::id()));
        let d = dir.join("conf.d");
        std::fs::create_dir_all(&d).unwrap();
        let main = dir.join("sshd_config");
        let write = |p: &Path, t: &str| std::fs::write(p, t).unwrap();
        write(
            &main,
            &format!(
                "PubkeyAuthOptions touch-required\nInclude {d}/*.conf\nMatch User bob\n  Include {d}/inner\nMatch all\nauthorizedkeysfile=/k/%u\n",
                d = d.display()
            ),
        );
        // A block opened in an included file ends there: 20-b's setting is global.
        write(
            &d.join("10-a.conf"),
            "Match Address 10.0.0.0/8\nPubkeyAuthOptions none\n",
        );
        write(&d.join("20-b.conf"), "AuthorizedKeysFile .ssh/x\n");
        write(
            &d.join(".hidden.conf"),
            "Match all\nPubkeyAuthOptions none\n",
        );
        write(
            &d.join("inner"),
            "AuthorizedKeysFile .ssh/bob\nUsePAM yes\n",
        );
        let found = match_settings(&main, KEYS).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let got: Vec<(String, &str, &str)> = found
            .iter()
            .map(|s| {
                let file = s.at.rsplit('/').next().unwrap().to_string();
                (file, s.value.as_str(), s.criteria.as_str())
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("10-a.conf:2".to_string(), "none", "Address 10.0.0.0/8"),
                ("inner:1".to_string(), ".ssh/bob", "User bob"),
                ("sshd_config:6".to_string(), "/k/%u", "all"),
            ]
        );
        assert!(match_settings(&dir.join("gone"), KEYS).is_err());
    }

    /// The first value outside Match blocks wins, as in sshd: a cloud
    /// image's 50-cloud-init.conf sorts before pam-mfa.conf.
    #[test]
    fn the_first_global_setting_is_found_in_the_file_that_sets_it() {
        let dir =
            std::env::temp_dir().join(format!("mfa-doctor-sshd-first-{}", std::process::id()));
        let d = dir.join("sshd_config.d");
        std::fs::create_dir_all(&d).unwrap();
        let main = dir.join("sshd_config");
        let write = |p: &Path, t: &str| std::fs::write(p, t).unwrap();
        write(
            &main,
            &format!(
                "Include {d}/*.conf\nKbdInteractiveAuthentication no\nUsePAM no\nX11Forwarding yes\n",
                d = d.display()
            ),
        );
        write(
            &d.join("50-cloud-init.conf"),
            "# cloud-init\nPermitRootLogin prohibit-password\nChallengeResponseAuthentication no\n",
        );
        write(
            &d.join("60-match.conf"),
            "Match User bob\nExposeAuthInfo no\n",
        );
        write(
            &d.join("pam-mfa.conf"),
            "UsePAM yes\nKbdInteractiveAuthentication yes\nPermitRootLogin yes\nExposeAuthInfo yes\n",
        );
        let keys = [
            "usepam",
            "kbdinteractiveauthentication",
            "permitrootlogin",
            "exposeauthinfo",
            "authenticationmethods",
        ];
        let found = first_settings(&main, &keys).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let got: Vec<(&str, String, &str, &str)> = found
            .iter()
            .map(|(k, s)| {
                let file = s.at.rsplit('/').next().unwrap().to_string();
                (k.as_str(), file, s.keyword.as_str(), s.value.as_str())
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "exposeauthinfo",
                    "pam-mfa.conf:4".to_string(),
                    "ExposeAuthInfo",
                    "yes"
                ),
                (
                    "kbdinteractiveauthentication",
                    "50-cloud-init.conf:3".to_string(),
                    "ChallengeResponseAuthentication",
                    "no"
                ),
                (
                    "permitrootlogin",
                    "50-cloud-init.conf:2".to_string(),
                    "PermitRootLogin",
                    "prohibit-password"
                ),
                ("usepam", "pam-mfa.conf:1".to_string(), "UsePAM", "yes"),
            ]
        );
    }
}

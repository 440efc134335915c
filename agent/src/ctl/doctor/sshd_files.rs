//! sshd_config and the files it includes, read as sshd reads them, for
//! what `sshd -T` does not show: the settings of `Match` blocks, which hold
//! for some connections only (sshd -T without `-C` leaves every Match
//! block out, `Match all` too), which file set the value sshd uses
//! (outside Match blocks the first value sshd reads wins), and where
//! pam-mfa's drop-in is, or would be once created, read among them.
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
    /// `file:line` of that `Match` line: the settings of one block share
    /// it.
    pub block: String,
}

/// A `Match` line: its criteria and `file:line`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MatchLine {
    criteria: String,
    at: String,
}

/// A keyword set outside any `Match` block: where, its value, and when
/// sshd reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalSetting {
    /// `file:line` of the setting.
    pub at: String,
    /// The keyword as written, and its value.
    pub keyword: String,
    pub value: String,
    /// Its place in the order sshd reads settings outside Match blocks
    /// (0 first): lower is read earlier.
    pub order: usize,
    /// Set in pam-mfa's drop-in itself.
    pub in_drop_in: bool,
}

/// Where pam-mfa's drop-in is, or would be once created, read among
/// sshd's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropInPlace {
    pub path: PathBuf,
    pub exists: bool,
    /// The read order of its first setting (see [`GlobalSetting::order`]):
    /// every setting with a lower order is read before it. None when no
    /// `Include` outside a Match block covers its path (sshd does not read
    /// it, or only for some connections).
    pub order: Option<usize>,
}

/// The settings outside Match blocks of some keywords, and where the
/// drop-in is read among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalSettings {
    /// Each keyword's settings (lower case), in the order sshd reads them:
    /// the first one's value is the one sshd uses (servconf.c keeps an
    /// option's first value), the next one's takes over if it is removed.
    pub by_keyword: BTreeMap<String, Vec<GlobalSetting>>,
    pub drop_in: DropInPlace,
}

/// Keywords sshd reads as another one (servconf.c's table): lower case.
const ALIASES: &[(&str, &str)] = &[(
    "challengeresponseauthentication",
    "kbdinteractiveauthentication",
)];

/// What the reader meets, in sshd's order.
enum Event<'a> {
    /// A file an `Include` names is about to be read; the expected file
    /// (the drop-in) also when it does not exist yet, at the place its
    /// name would sort to.
    File {
        block: Option<&'a MatchLine>,
        path: &'a Path,
    },
    /// A setting: its Match block (none outside one), its file and line,
    /// the keyword as written, its value.
    Setting {
        block: Option<&'a MatchLine>,
        file: &'a Path,
        line: usize,
        keyword: &'a str,
        value: &'a str,
    },
}

type Visit<'a> = dyn FnMut(Event) + 'a;

/// The settings of `keywords` (lower case) inside Match blocks of `main`
/// and of every file it includes, or why they could not all be read.
pub fn match_settings(main: &Path, keywords: &[&str]) -> Result<Vec<MatchSetting>, String> {
    let mut out = Vec::new();
    read_config(main, None, 0, None, &mut |event| {
        let Event::Setting {
            block: Some(b),
            file,
            line,
            keyword,
            value,
        } = event
        else {
            return;
        };
        if keywords.contains(&keyword.to_ascii_lowercase().as_str()) {
            out.push(MatchSetting {
                at: format!("{}:{line}", file.display()),
                keyword: keyword.to_string(),
                value: value.to_string(),
                criteria: b.criteria.clone(),
                block: b.at.clone(),
            });
        }
    })?;
    Ok(out)
}

/// Every setting of `keywords` (lower case) outside Match blocks of `main`
/// and the files it includes, in the order sshd reads them, and where the
/// drop-in (`drop_in`, created or not) is read among them. An alias
/// (`ChallengeResponseAuthentication`) counts as the keyword it stands for.
pub fn global_settings(
    main: &Path,
    drop_in: &Path,
    keywords: &[&str],
) -> Result<GlobalSettings, String> {
    let mut by_keyword: BTreeMap<String, Vec<GlobalSetting>> = BTreeMap::new();
    let mut place = DropInPlace {
        path: drop_in.to_path_buf(),
        exists: drop_in.is_file(),
        order: None,
    };
    let mut order = 0;
    read_config(main, None, 0, Some(drop_in), &mut |event| match event {
        Event::File { block: None, path } if path == drop_in => {
            place.order.get_or_insert(order);
        }
        Event::Setting {
            block: None,
            file,
            line,
            keyword,
            value,
        } => {
            let mut lower = keyword.to_ascii_lowercase();
            if let Some((_, real)) = ALIASES.iter().find(|(alias, _)| *alias == lower) {
                lower = real.to_string();
            }
            if keywords.contains(&lower.as_str()) {
                by_keyword.entry(lower).or_default().push(GlobalSetting {
                    at: format!("{}:{line}", file.display()),
                    keyword: keyword.to_string(),
                    value: value.to_string(),
                    order,
                    in_drop_in: file == drop_in,
                });
            }
            order += 1;
        }
        _ => {}
    })?;
    Ok(GlobalSettings {
        by_keyword,
        drop_in: place,
    })
}

/// Reads `path` as sshd does, telling `visit` what it meets. `expected`
/// (the drop-in) is met as a file wherever an `Include` covers it, even
/// before it exists.
fn read_config(
    path: &Path,
    outer: Option<&MatchLine>,
    depth: usize,
    expected: Option<&Path>,
    visit: &mut Visit,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "{}: Include nested deeper than {MAX_DEPTH}",
            path.display()
        ));
    }
    let text = read_limited(path)?;
    let mut block = outer.cloned();
    for (n, line) in text.lines().enumerate() {
        let Some((keyword, value)) = split_line(line) else {
            continue;
        };
        let lower = keyword.to_ascii_lowercase();
        match lower.as_str() {
            "match" => {
                block = Some(MatchLine {
                    criteria: value.to_string(),
                    at: format!("{}:{}", path.display(), n + 1),
                })
            }
            "include" => {
                for pattern in value.split_whitespace() {
                    for file in included(pattern.trim_matches('"'), expected)? {
                        visit(Event::File {
                            block: block.as_ref(),
                            path: &file,
                        });
                        if Some(file.as_path()) == expected && !file.exists() {
                            continue;
                        }
                        read_config(&file, block.as_ref(), depth + 1, expected, visit)?;
                    }
                }
            }
            _ => visit(Event::Setting {
                block: block.as_ref(),
                file: path,
                line: n + 1,
                keyword,
                value,
            }),
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
    Some((keyword, without_comment(rest)))
}

/// `value` up to a word that starts with `#` outside quotes: sshd ends a
/// line there (servconf.c reads lines with `argv_split(..., 1)`, which
/// stops at a comment), so `UsePAM no # cloud` sets `no`.
fn without_comment(value: &str) -> &str {
    let mut quoted = false;
    let mut word_start = true;
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' if word_start && !quoted => return value[..i].trim_end(),
            _ => {}
        }
        word_start = c.is_whitespace();
    }
    value
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

/// The files an `Include` pattern names, sorted as glob(3) sorts them,
/// with `expected` among them where the pattern covers it, whether it
/// exists or not. Wildcards (`*`, `?`) are expanded in the last component
/// only.
fn included(pattern: &str, expected: Option<&Path>) -> Result<Vec<PathBuf>, String> {
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
    let matches = |n: &str| !n.starts_with('.') && glob_match(name.as_bytes(), n.as_bytes());
    let mut files: Vec<PathBuf> = if !wild(name) {
        vec![path.clone()]
    } else if let Ok(entries) = std::fs::read_dir(dir) {
        entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| matches(n))
            .map(|n| dir.join(n))
            .collect()
    } else {
        Vec::new()
    };
    files.retain(|f| f.exists() || Some(f.as_path()) == expected);
    if let Some(e) = expected.filter(|e| !files.iter().any(|f| f == e)) {
        let covered = e.parent() == Some(dir)
            && e.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                if wild(name) {
                    matches(n)
                } else {
                    n == name
                }
            });
        if covered {
            files.push(e.to_path_buf());
        }
    }
    files.sort();
    Ok(files)
}

/// `*` and `?` as glob(3) reads them in one path component.
pub(super) fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
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
#[path = "sshd_files_tests.rs"]
mod tests;

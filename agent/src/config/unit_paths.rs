//! The paths agent.yaml names that the agent writes, against the
//! directories the shipped systemd unit (packaging/systemd/mfa-agent.service)
//! lets it write: with `ProtectSystem=strict` everything else is read-only,
//! so an audit file or socket elsewhere stops the agent from starting (and
//! every login through pam_mfa.so is refused) though the file itself is
//! valid. Warnings, not errors: an admin may widen the unit with a drop-in.

use std::path::{Component, Path, PathBuf};

use super::AgentConfig;
use crate::audit::SinkSpec;

/// The unit's `RuntimeDirectory=`, `StateDirectory=` and `LogsDirectory=`
/// (pam-mfa each): the only places it may write.
pub const UNIT_WRITABLE_DIRS: [&str; 3] = ["/run/pam-mfa", "/var/lib/pam-mfa", "/var/log/pam-mfa"];

/// One warning per written path of `cfg` outside [`UNIT_WRITABLE_DIRS`].
pub fn unit_path_warnings(cfg: &AgentConfig) -> Vec<String> {
    // (key, path, what then fails, the directory a drop-in would open)
    let parent = |p: &Path| p.parent().unwrap_or(p).to_path_buf();
    let mut written: Vec<(&str, &Path, &str, PathBuf)> = Vec::new();
    let sink = SinkSpec::parse(&cfg.audit.sink);
    if let Ok(SinkSpec::File(path)) = &sink {
        written.push((
            "audit.sink file:",
            path,
            "the agent cannot open the file and does not start: every login through pam_mfa.so is refused",
            parent(path),
        ));
    }
    written.push((
        "socket.path ",
        &cfg.socket.path,
        "the agent cannot listen and does not start: every login through pam_mfa.so is refused",
        parent(&cfg.socket.path),
    ));
    written.push((
        "cluster.state_dir ",
        &cfg.cluster.state_dir,
        "the agent cannot keep its state there (the last good bundle of an https:// or manifest source, the manifest's serial, the signature counters)",
        cfg.cluster.state_dir.clone(),
    ));
    written
        .into_iter()
        .filter(|(_, path, _, _)| !writable_under_unit(path))
        .map(|(what, path, then, open)| {
            format!(
                "{what}{} is outside what the shipped systemd unit lets mfa-agent write (ProtectSystem=strict; writable: {}): under that unit {then}; use a path under one of those, or add `ReadWritePaths={}` in a drop-in (`systemctl edit mfa-agent`)",
                path.display(),
                UNIT_WRITABLE_DIRS.join(", "),
                open.display()
            )
        })
        .collect()
}

/// `path` is one of the unit's directories or under one, as written (a
/// `..` is never taken to stay inside).
fn writable_under_unit(path: &Path) -> bool {
    !path.components().any(|c| c == Component::ParentDir)
        && UNIT_WRITABLE_DIRS.iter().any(|d| path.starts_with(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warnings(yaml: &str) -> Vec<String> {
        unit_path_warnings(&AgentConfig::parse(yaml, "t").unwrap())
    }

    #[test]
    fn the_defaults_and_paths_under_the_units_directories_are_not_warned() {
        assert_eq!(warnings(""), Vec::<String>::new());
        let inside = "audit:\n  sink: file:/var/log/pam-mfa/audit.jsonl\nsocket:\n  path: /run/pam-mfa/a.sock\ncluster:\n  state_dir: /var/lib/pam-mfa/cache\n";
        assert_eq!(warnings(inside), Vec::<String>::new());
    }

    #[test]
    fn each_written_path_outside_them_is_a_warning_naming_it_and_the_units_directories() {
        for (yaml, named) in [
            (
                "audit:\n  sink: file:/var/log/pam-mfa-audit.json\n",
                "audit.sink file:/var/log/pam-mfa-audit.json",
            ),
            (
                "socket:\n  path: /run/agent.sock\n",
                "socket.path /run/agent.sock",
            ),
            (
                "cluster:\n  state_dir: /srv/pam-mfa\n",
                "cluster.state_dir /srv/pam-mfa",
            ),
            (
                "audit:\n  sink: file:/var/log/pam-mfa/../audit.json\n",
                "audit.sink file:/var/log/pam-mfa/../audit.json",
            ),
        ] {
            let w = warnings(yaml);
            assert_eq!(w.len(), 1, "{yaml}: {w:?}");
            assert!(w[0].starts_with(named), "{w:?}");
            assert!(
                w[0].contains("/run/pam-mfa, /var/lib/pam-mfa, /var/log/pam-mfa"),
                "{w:?}"
            );
            assert!(w[0].contains("ReadWritePaths="), "{w:?}");
        }
    }

    /// The list is the shipped unit's: its writable directories, and
    /// ProtectSystem=strict making everything else read-only.
    #[test]
    fn the_list_is_the_shipped_units() {
        let unit =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/systemd/mfa-agent.service");
        let text = std::fs::read_to_string(&unit).unwrap();
        let setting = |name: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.strip_prefix(name)?.strip_prefix('='))
                .flat_map(|v| v.split_whitespace().map(str::to_owned))
                .collect()
        };
        assert_eq!(setting("ProtectSystem"), ["strict"]);
        let mut dirs: Vec<String> = setting("RuntimeDirectory")
            .into_iter()
            .map(|d| format!("/run/{d}"))
            .chain(
                setting("StateDirectory")
                    .into_iter()
                    .map(|d| format!("/var/lib/{d}")),
            )
            .chain(
                setting("LogsDirectory")
                    .into_iter()
                    .map(|d| format!("/var/log/{d}")),
            )
            .chain(setting("ReadWritePaths"))
            .collect();
        dirs.sort();
        let mut ours: Vec<String> = UNIT_WRITABLE_DIRS.iter().map(|d| d.to_string()).collect();
        ours.sort();
        assert_eq!(dirs, ours);
    }
}

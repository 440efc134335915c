//! The authorized_keys lines this agent served to sshd, remembered briefly:
//! a `verify-required` line served for a login proves sshd checked the PIN
//! when that key then shows up in `SSH_AUTH_INFO_0`.
//!
//! Anyone who can reach sshd can have lines served (each connection that
//! offers any key for a login the policy serves keys for runs the keys
//! command), so what is remembered is bounded and a flood never wipes it:
//! see [`super::served_keys_table`] for what goes first when it is full.

use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use super::authorized_keys_changes::KeyFilesState;
use super::served_keys_table::{Served, ServedTable};
use super::served_lines::ServedLine;
use super::sshd_connection::ConnectionId;

/// Served lines, per login, sshd connection and key: a serve for one
/// connection (after a policy reload, say) never stands for another's.
#[derive(Default)]
pub struct ServedKeys {
    table: Mutex<ServedTable>,
}

impl ServedKeys {
    /// Remembers the lines one keys-command call served for `login` to
    /// sshd connection `connection` (`None`: not known), and the state of
    /// the login's own key files at that moment.
    pub fn record(
        &self,
        login: &str,
        lines: &[ServedLine],
        files: &KeyFilesState,
        connection: Option<ConnectionId>,
    ) {
        self.record_at(login, lines, files, connection, Instant::now());
    }

    pub(super) fn record_at(
        &self,
        login: &str,
        lines: &[ServedLine],
        files: &KeyFilesState,
        connection: Option<ConnectionId>,
        now: Instant,
    ) {
        let at = SystemTime::now();
        let served = lines.iter().map(|l| {
            let served = Served {
                verify_required: l.verify_required,
                at,
                files: files.clone(),
            };
            ((l.key_type.clone(), l.blob.clone()), served)
        });
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        table.record(login, connection, served, now);
    }

    /// The line pam-mfa served this key for this login within the TTL:
    /// when, and whether it carried `verify-required`. `None`: not served
    /// (sshd found the key elsewhere; nothing is known about its options).
    /// The line served to `connection` only: sshd runs the keys command in
    /// the connection's session, so a connection with no serve of its own
    /// found the key elsewhere (in the user's files, which sshd reads
    /// first), and another connection's line says nothing of it. When the
    /// connection is not known, the weakest line served to any: one without
    /// `verify-required` if there is one, so it never lends a PIN; and none
    /// counts with `verify-required` while a line of the login may have
    /// been dropped before its TTL (see [`super::served_keys_table`]).
    pub fn served(
        &self,
        login: &str,
        key_type: &str,
        blob: &str,
        connection: Option<ConnectionId>,
    ) -> Option<Served> {
        self.served_at(login, (key_type, blob), connection, Instant::now())
    }

    pub(super) fn served_at(
        &self,
        login: &str,
        key: (&str, &str),
        connection: Option<ConnectionId>,
        now: Instant,
    ) -> Option<Served> {
        let table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        table.served(login, key, connection, now)
    }

    /// How many lines are remembered, all logins together.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.table.lock().unwrap().len()
    }
}

//! [`Transport`] over PC/SC (pcscd on Linux): finding the reader, waiting for
//! a card with a deadline, and moving APDUs.
//!
//! Deadlines: waiting for a card uses `SCardGetStatusChange` with the time
//! left. `SCardTransmit` takes no timeout: a command that needs a touch
//! blocks until the card answers. A YubiKey gives up waiting for a touch after
//! 15 s (then answers 6982), so a touch wait is bounded by the card; pcscd's
//! own limit on a silent card is its driver's (about a minute for CCID).

use std::ffi::CString;
use std::time::{Duration, Instant};

use pcsc::{Card, Context, Protocols, ReaderState, Scope, ShareMode, State};

use super::apdu::Transport;
use super::error::CardError;

/// A connected card.
pub struct PcscTransport {
    // The context must outlive the card handle.
    card: Card,
    _ctx: Context,
    reader: String,
}

fn pcsc_err(during: &str) -> impl Fn(pcsc::Error) -> CardError + '_ {
    move |e| CardError::Pcsc {
        during: during.to_owned(),
        message: e.to_string(),
    }
}

impl PcscTransport {
    /// Connects to the card in the first reader whose name contains `reader`
    /// (any reader when `None`) that holds a card, waiting up to `wait` for
    /// one to be inserted.
    pub fn connect(reader: Option<&str>, wait: Duration) -> Result<PcscTransport, CardError> {
        let deadline = Instant::now() + wait;
        let ctx = Context::establish(Scope::User).map_err(pcsc_err("connecting to pcscd"))?;
        let names: Vec<CString> = match ctx.list_readers_owned() {
            Ok(n) => n,
            Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(pcsc_err("listing smart card readers")(e)),
        };
        let names: Vec<CString> = names
            .into_iter()
            .filter(|n| reader.is_none_or(|want| n.to_string_lossy().contains(want)))
            .collect();
        if names.is_empty() {
            return Err(CardError::NoCard(match reader {
                Some(r) => format!("no smart card reader named like {r:?} (is pcscd running and the key plugged in?)"),
                None => "no smart card reader found (is pcscd running and the key plugged in?)".into(),
            }));
        }
        let mut states: Vec<ReaderState> = names
            .iter()
            .map(|n| ReaderState::new(n.clone(), State::UNAWARE))
            .collect();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match ctx.get_status_change(left, &mut states) {
                Ok(()) => {}
                Err(pcsc::Error::Timeout) => {}
                Err(e) => return Err(pcsc_err("waiting for a card")(e)),
            }
            if let Some(s) = states.iter().find(|s| {
                s.event_state().contains(State::PRESENT) && !s.event_state().contains(State::MUTE)
            }) {
                let name = s.name().to_owned();
                let card = ctx
                    .connect(&name, ShareMode::Shared, Protocols::ANY)
                    .map_err(pcsc_err("connecting to the card"))?;
                return Ok(PcscTransport {
                    card,
                    _ctx: ctx,
                    reader: name.to_string_lossy().into_owned(),
                });
            }
            if Instant::now() >= deadline {
                let listed: Vec<String> = names
                    .iter()
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect();
                return Err(CardError::NoCard(format!(
                    "no card in {} within {}s",
                    listed.join(", "),
                    wait.as_secs()
                )));
            }
            for s in &mut states {
                s.sync_current_state();
            }
        }
    }

    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }
}

impl Transport for PcscTransport {
    fn open(reader: Option<&str>, wait: Duration) -> Result<PcscTransport, CardError> {
        PcscTransport::connect(reader, wait)
    }

    fn transmit(&mut self, apdu: &[u8], during: &str) -> Result<Vec<u8>, CardError> {
        let mut buf = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        let answer = self
            .card
            .transmit(apdu, &mut buf)
            .map_err(pcsc_err(during))?;
        let out = answer.to_vec();
        // The buffer may hold secrets (a decrypted witness comes back in a
        // later answer; keep the habit): wipe it.
        zeroize::Zeroize::zeroize(&mut buf);
        Ok(out)
    }
}

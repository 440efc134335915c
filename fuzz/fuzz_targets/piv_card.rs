//! PIV card responses (APDU data and status words, TLV objects, GET
//! RESPONSE chains, the management-key challenge, certificates) as a
//! malicious card in a reader would send them, through the real client: a
//! transport that answers each command with the next response from the
//! input (2-byte length, then the response). The attestation chain it
//! returns is then checked against Yubico's roots. Property: no panic, no
//! hang, no unbounded allocation; a forged chain never verifies.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use mfa_agent::piv::card::{
    exchange, CardError, Command, KeyAlgorithm, PivCard, PivClient, Transport,
};
use mfa_agent::piv::{verify_chain, PinPolicy, PivSlot, TouchPolicy, TrustedRoots};
use zeroize::Zeroizing;

struct Replay<'a> {
    rest: &'a [u8],
    sent: usize,
}

impl Transport for Replay<'_> {
    fn open(_: Option<&str>, _: Duration) -> Result<Self, CardError> {
        Err(CardError::NoCard("fuzz".into()))
    }

    fn transmit(&mut self, _apdu: &[u8], during: &str) -> Result<Vec<u8>, CardError> {
        self.sent += 1;
        // Every loop in the client is bounded: a card that keeps answering
        // must not keep the client talking for ever.
        assert!(
            self.sent < 2_000,
            "the client never stops talking to the card"
        );
        let gone = || CardError::Pcsc {
            during: during.to_owned(),
            message: "the card went away".into(),
        };
        let (len, rest) = self.rest.split_first_chunk::<2>().ok_or_else(gone)?;
        let len = (u16::from_be_bytes(*len) as usize).min(rest.len());
        let (resp, rest) = rest.split_at(len);
        self.rest = rest;
        Ok(resp.to_vec())
    }
}

fn roots() -> &'static TrustedRoots {
    static ROOTS: OnceLock<TrustedRoots> = OnceLock::new();
    ROOTS.get_or_init(TrustedRoots::yubico)
}

fn session(card: &mut PivClient<Replay<'_>>) {
    let _ = card.version();
    let _ = card.serial();
    let _ = card.pin_tries_left();
    let _ = card.verify_pin(&Zeroizing::new("123456".to_owned()));
    let _ = card.metadata(PivSlot::Signature);
    let _ = card.generate(
        PivSlot::Authentication,
        KeyAlgorithm::EccP256,
        PinPolicy::Never,
        TouchPolicy::Always,
    );
    let leaf = card.attest(PivSlot::Signature);
    let f9 = card.attestation_intermediate();
    if let (Ok(leaf), Ok(f9)) = (leaf, f9) {
        assert!(
            verify_chain(&[leaf, f9], roots()).is_err(),
            "a chain from a fake card verified against Yubico's roots"
        );
    }
    let _ = card.certificate(PivSlot::Authentication);
    let _ = card.sign(PivSlot::Signature, &[9; 32]);
    let _ = card.sign(PivSlot::Signature, &[9; 48]);
}

fuzz_target!(|data: &[u8]| {
    // The APDU layer alone, with a chained (long) command.
    let mut t = Replay {
        rest: data,
        sent: 0,
    };
    let _ = exchange(
        &mut t,
        &Command::new(0xDB, 0x3F, 0xFF, vec![0; 600]),
        "fuzz",
    );
    // A whole session with the client.
    let t = Replay {
        rest: data,
        sent: 0,
    };
    if let Ok(mut card) = PivClient::new(t) {
        session(&mut card);
    }
});

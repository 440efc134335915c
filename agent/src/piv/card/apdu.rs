//! Command APDUs (short form, with command chaining for long data) and
//! response handling (GET RESPONSE while the card says `61xx`).

use super::error::{malformed, CardError};

/// The most data one short APDU carries.
pub const CHUNK: usize = 255;
/// GET RESPONSE rounds at most (a 64 KiB answer in 256-byte pieces); a card
/// that keeps saying `61xx` past this is broken, not slow.
pub const MAX_GET_RESPONSE: usize = 260;
/// The largest response the client accepts, all pieces joined.
pub const MAX_RESPONSE: usize = 64 * 1024;

/// Moves APDUs to a card and back: one command in, the raw response
/// (data then SW1 SW2) out. PC/SC in production (`super::pcsc_transport`).
pub trait Transport {
    /// Connects to the card in the reader whose name contains `reader` (any
    /// reader when `None`), waiting up to `wait` for a card.
    fn open(reader: Option<&str>, wait: std::time::Duration) -> Result<Self, CardError>
    where
        Self: Sized;

    /// Sends `apdu`; `during` names the step for errors.
    fn transmit(&mut self, apdu: &[u8], during: &str) -> Result<Vec<u8>, CardError>;
}

/// One command: header, data (any length: chained when over [`CHUNK`]), and
/// whether response data is expected (then Le = 00 is sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    pub expect_data: bool,
}

impl Command {
    pub fn new(ins: u8, p1: u8, p2: u8, data: Vec<u8>) -> Command {
        Command {
            ins,
            p1,
            p2,
            data,
            expect_data: true,
        }
    }

    /// The APDUs to send: every piece but the last with CLA 0x10 (more
    /// follows), at most [`CHUNK`] bytes each; Le only on the last.
    pub fn encode(&self) -> Vec<Vec<u8>> {
        let pieces: Vec<&[u8]> = if self.data.is_empty() {
            vec![&[]]
        } else {
            self.data.chunks(CHUNK).collect()
        };
        let last = pieces.len() - 1;
        pieces
            .iter()
            .enumerate()
            .map(|(i, piece)| {
                let cla = if i == last { 0x00 } else { 0x10 };
                let mut apdu = vec![cla, self.ins, self.p1, self.p2];
                if !piece.is_empty() {
                    apdu.push(piece.len() as u8);
                    apdu.extend_from_slice(piece);
                }
                if i == last && self.expect_data {
                    apdu.push(0x00);
                }
                apdu
            })
            .collect()
    }
}

/// A response APDU split into data and status word.
pub fn split_response(raw: &[u8], during: &str) -> Result<(Vec<u8>, u16), CardError> {
    if raw.len() < 2 {
        return Err(malformed(
            during,
            format!("{} bytes, no status word", raw.len()),
        ));
    }
    let (data, sw) = raw.split_at(raw.len() - 2);
    Ok((data.to_vec(), u16::from_be_bytes([sw[0], sw[1]])))
}

/// Sends `cmd` (chained as needed), then fetches the rest of a long answer
/// with GET RESPONSE (`00 C0 00 00 xx`) while the card says `61xx`. Returns
/// the whole data and the final status word; a status other than 9000 on a
/// chained piece stops the chain and is returned.
pub fn exchange(
    t: &mut dyn Transport,
    cmd: &Command,
    during: &str,
) -> Result<(Vec<u8>, u16), CardError> {
    let apdus = cmd.encode();
    let last = apdus.len() - 1;
    let mut data = Vec::new();
    let mut sw = 0;
    for (i, apdu) in apdus.iter().enumerate() {
        let (d, s) = split_response(&t.transmit(apdu, during)?, during)?;
        if i < last {
            if s != 0x9000 {
                return Ok((d, s));
            }
            continue;
        }
        data = d;
        sw = s;
    }
    let mut rounds = 0;
    while sw >> 8 == 0x61 {
        rounds += 1;
        if rounds > MAX_GET_RESPONSE || data.len() > MAX_RESPONSE {
            return Err(malformed(during, "the answer does not end (GET RESPONSE)"));
        }
        let le = (sw & 0xFF) as u8;
        let (d, s) = split_response(&t.transmit(&[0x00, 0xC0, 0x00, 0x00, le], during)?, during)?;
        data.extend_from_slice(&d);
        sw = s;
    }
    Ok((data, sw))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A card script: each transmit must be the next expected APDU and gets
    /// the scripted answer.
    struct Script(Vec<(Vec<u8>, Vec<u8>)>);

    impl Transport for Script {
        fn open(_: Option<&str>, _: std::time::Duration) -> Result<Script, CardError> {
            Err(CardError::NoCard("a script".into()))
        }
        fn transmit(&mut self, apdu: &[u8], _during: &str) -> Result<Vec<u8>, CardError> {
            assert!(!self.0.is_empty(), "unexpected APDU {apdu:02x?}");
            let (want, answer) = self.0.remove(0);
            assert_eq!(apdu, &want[..]);
            Ok(answer)
        }
    }

    #[test]
    fn short_commands() {
        let c = Command::new(0xFD, 0, 0, vec![]);
        assert_eq!(c.encode(), vec![vec![0x00, 0xFD, 0, 0, 0x00]]);
        let mut c = Command::new(0x20, 0, 0x80, vec![1; 8]);
        c.expect_data = false;
        let mut want = vec![0x00, 0x20, 0, 0x80, 8];
        want.extend([1; 8]);
        assert_eq!(c.encode(), vec![want]);
    }

    #[test]
    fn long_data_is_chained() {
        let data: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
        let apdus = Command::new(0xDB, 0x3F, 0xFF, data.clone()).encode();
        assert_eq!(apdus.len(), 3);
        assert_eq!(&apdus[0][..5], &[0x10, 0xDB, 0x3F, 0xFF, 255]);
        assert_eq!(&apdus[1][..5], &[0x10, 0xDB, 0x3F, 0xFF, 255]);
        assert_eq!(&apdus[2][..5], &[0x00, 0xDB, 0x3F, 0xFF, 90]);
        assert_eq!(apdus[2].len(), 5 + 90 + 1, "Le on the last piece only");
        let joined: Vec<u8> = apdus
            .iter()
            .flat_map(|a| a[5..5 + usize::from(a[4])].iter().copied())
            .collect();
        assert_eq!(joined, data);
        assert_eq!(Command::new(1, 0, 0, vec![0; 255]).encode().len(), 1);
        assert_eq!(Command::new(1, 0, 0, vec![0; 256]).encode().len(), 2);
    }

    #[test]
    fn get_response_joins_the_pieces() {
        let mut s = Script(vec![
            (vec![0x00, 0xF9, 0x9C, 0x00, 0x00], vec![1, 2, 0x61, 0x03]),
            (vec![0x00, 0xC0, 0, 0, 3], vec![3, 4, 5, 0x61, 0x00]),
            (vec![0x00, 0xC0, 0, 0, 0], vec![6, 0x90, 0x00]),
        ]);
        let (d, sw) = exchange(&mut s, &Command::new(0xF9, 0x9C, 0, vec![]), "t").unwrap();
        assert_eq!((d, sw), (vec![1, 2, 3, 4, 5, 6], 0x9000));
        assert!(s.0.is_empty());
    }

    #[test]
    fn a_failing_chain_piece_stops_the_chain() {
        let data = vec![7; 300];
        let first = Command::new(0xDB, 0x3F, 0xFF, data.clone()).encode()[0].clone();
        let mut s = Script(vec![(first, vec![0x69, 0x82])]);
        let (_, sw) = exchange(&mut s, &Command::new(0xDB, 0x3F, 0xFF, data), "t").unwrap();
        assert_eq!(sw, 0x6982);
    }

    #[test]
    fn short_answers_and_endless_cards_are_errors() {
        let mut s = Script(vec![(vec![0x00, 0xFD, 0, 0, 0], vec![0x90])]);
        assert!(matches!(
            exchange(&mut s, &Command::new(0xFD, 0, 0, vec![]), "GET VERSION"),
            Err(CardError::Malformed { .. })
        ));
        struct Endless;
        impl Transport for Endless {
            fn open(_: Option<&str>, _: std::time::Duration) -> Result<Endless, CardError> {
                Err(CardError::NoCard("endless".into()))
            }
            fn transmit(&mut self, _: &[u8], _: &str) -> Result<Vec<u8>, CardError> {
                Ok(vec![0; 256].into_iter().chain([0x61, 0x00]).collect())
            }
        }
        let e = exchange(&mut Endless, &Command::new(0xF9, 0x9A, 0, vec![]), "ATTEST").unwrap_err();
        assert!(e.to_string().contains("does not end"), "{e}");
    }
}

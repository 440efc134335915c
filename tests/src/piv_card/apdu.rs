//! ISO 7816-4 APDUs: parsing commands (short and extended length), command chaining
//! (CLA bit 0x10) and response chaining (`61xx` then GET RESPONSE `00 C0`).

/// Status words the card answers with.
pub mod sw {
    pub const OK: u16 = 0x9000;
    pub const WRONG_LENGTH: u16 = 0x6700;
    pub const SECURITY_STATUS: u16 = 0x6982;
    pub const AUTH_BLOCKED: u16 = 0x6983;
    pub const CONDITIONS: u16 = 0x6985;
    pub const WRONG_DATA: u16 = 0x6A80;
    pub const FILE_NOT_FOUND: u16 = 0x6A82;
    pub const INCORRECT_P1P2: u16 = 0x6A86;
    pub const REF_NOT_FOUND: u16 = 0x6A88;
    pub const INS_NOT_SUPPORTED: u16 = 0x6D00;
    pub const CLA_NOT_SUPPORTED: u16 = 0x6E00;
    /// `63Cx`: verification failed, `x` tries left.
    pub fn retries(left: u8) -> u16 {
        0x63C0 | u16::from(left.min(15))
    }
}

/// A parsed command APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    /// Expected response length; `None` when Le is absent.
    pub le: Option<usize>,
}

impl Command {
    /// Parses the four cases of ISO 7816-4, short and extended length.
    pub fn parse(raw: &[u8]) -> Result<Command, u16> {
        if raw.len() < 4 {
            return Err(sw::WRONG_LENGTH);
        }
        let (cla, ins, p1, p2) = (raw[0], raw[1], raw[2], raw[3]);
        let body = &raw[4..];
        let mk = |data: &[u8], le| Command {
            cla,
            ins,
            p1,
            p2,
            data: data.to_vec(),
            le,
        };
        match body.len() {
            0 => Ok(mk(&[], None)),
            1 => Ok(mk(&[], Some(short_le(body[0])))),
            _ if body[0] != 0 => {
                let lc = usize::from(body[0]);
                match body.len() - 1 {
                    n if n == lc => Ok(mk(&body[1..], None)),
                    n if n == lc + 1 => Ok(mk(&body[1..=lc], Some(short_le(body[lc + 1])))),
                    _ => Err(sw::WRONG_LENGTH),
                }
            }
            3 => Ok(mk(&[], Some(ext_le(body[1], body[2])))),
            _ => {
                let lc = usize::from(u16::from_be_bytes([body[1], body[2]]));
                let rest = &body[3..];
                match rest.len() {
                    n if n == lc => Ok(mk(rest, None)),
                    n if n == lc + 2 => Ok(mk(&rest[..lc], Some(ext_le(rest[lc], rest[lc + 1])))),
                    _ => Err(sw::WRONG_LENGTH),
                }
            }
        }
    }

    /// True when CLA says more command data follows (command chaining).
    pub fn chained(&self) -> bool {
        self.cla & 0x10 != 0
    }

    /// Encodes the command: short form when data and Le fit, else extended length.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        let extended = self.data.len() > 255 || self.le.is_some_and(|le| le > 256);
        if !self.data.is_empty() {
            if extended {
                out.push(0);
                out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
            } else {
                out.push(self.data.len() as u8);
            }
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = self.le {
            match (extended, self.data.is_empty()) {
                (false, _) => out.push(if le >= 256 { 0 } else { le as u8 }),
                (true, true) => out.extend_from_slice(&[0, (le >> 8) as u8, le as u8]),
                (true, false) => out.extend_from_slice(&[(le >> 8) as u8, le as u8]),
            }
        }
        out
    }
}

fn short_le(b: u8) -> usize {
    if b == 0 {
        256
    } else {
        usize::from(b)
    }
}

fn ext_le(hi: u8, lo: u8) -> usize {
    match u16::from_be_bytes([hi, lo]) {
        0 => 65536,
        n => usize::from(n),
    }
}

/// A response APDU: data then the status word.
pub fn response(data: &[u8], status: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 2);
    out.extend_from_slice(data);
    out.extend_from_slice(&status.to_be_bytes());
    out
}

/// The transport layer of the card: joins chained commands and hands out long
/// responses in pieces of at most `Le` bytes, as a YubiKey does.
#[derive(Default)]
pub struct Transport {
    /// Data of chained commands so far, with the header of the first.
    chain: Option<(u8, u8, u8, Vec<u8>)>,
    /// Response bytes not yet fetched with GET RESPONSE.
    pending: Vec<u8>,
}

/// What the transport made of one raw command.
pub enum Step {
    /// Answer with these bytes straight away.
    Reply(Vec<u8>),
    /// A complete command for the applet.
    Command(Command),
}

impl Transport {
    pub fn new() -> Transport {
        Transport::default()
    }

    /// Forgets chained commands and pending responses (power off, reset).
    pub fn reset(&mut self) {
        self.chain = None;
        self.pending.clear();
    }

    /// Feeds one raw command APDU.
    pub fn step(&mut self, raw: &[u8]) -> Step {
        let cmd = match Command::parse(raw) {
            Ok(c) => c,
            Err(status) => return Step::Reply(response(&[], status)),
        };
        if cmd.ins == 0xC0 && cmd.cla & 0x10 == 0 {
            if self.pending.is_empty() {
                return Step::Reply(response(&[], sw::CONDITIONS));
            }
            let le = cmd.le.unwrap_or(256);
            return Step::Reply(self.next_piece(le));
        }
        // Any other command drops an unread response, as real cards do.
        self.pending.clear();
        if cmd.chained() {
            match &mut self.chain {
                Some((ins, p1, p2, data)) if (*ins, *p1, *p2) == (cmd.ins, cmd.p1, cmd.p2) => {
                    data.extend_from_slice(&cmd.data)
                }
                _ => self.chain = Some((cmd.ins, cmd.p1, cmd.p2, cmd.data.clone())),
            }
            return Step::Reply(response(&[], sw::OK));
        }
        match self.chain.take() {
            Some((ins, p1, p2, mut data)) if (ins, p1, p2) == (cmd.ins, cmd.p1, cmd.p2) => {
                data.extend_from_slice(&cmd.data);
                Step::Command(Command { data, ..cmd })
            }
            Some(_) => Step::Reply(response(&[], sw::CONDITIONS)),
            None => Step::Command(cmd),
        }
    }

    /// Turns the applet's answer into what goes on the wire: everything when it fits
    /// in `Le` (or 256 for a short command without Le), else the first piece and 61xx.
    pub fn finish(&mut self, cmd: &Command, data: Vec<u8>, status: u16) -> Vec<u8> {
        let max = cmd.le.unwrap_or(256);
        if data.len() <= max || status != sw::OK {
            return response(&data, status);
        }
        self.pending = data;
        self.next_piece(max)
    }

    fn next_piece(&mut self, le: usize) -> Vec<u8> {
        let n = le.min(self.pending.len());
        let piece: Vec<u8> = self.pending.drain(..n).collect();
        let status = match self.pending.len() {
            0 => sw::OK,
            left if left >= 256 => 0x6100,
            left => 0x6100 | left as u16,
        };
        response(&piece, status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_four_cases_short_and_extended() {
        let c = Command::parse(&[0, 0xA4, 4, 0]).unwrap();
        assert_eq!((c.data.len(), c.le), (0, None));
        let c = Command::parse(&[0, 0xCB, 0x3F, 0xFF, 0]).unwrap();
        assert_eq!(c.le, Some(256));
        let c = Command::parse(&[0, 0x20, 0, 0x80, 2, 1, 2]).unwrap();
        assert_eq!((c.data, c.le), (vec![1, 2], None));
        let c = Command::parse(&[0, 0x20, 0, 0x80, 2, 1, 2, 0x10]).unwrap();
        assert_eq!((c.data, c.le), (vec![1, 2], Some(16)));
        let c = Command::parse(&[0, 0xCB, 0x3F, 0xFF, 0, 0, 2, 9, 9, 0, 0]).unwrap();
        assert_eq!((c.data, c.le), (vec![9, 9], Some(65536)));
        assert_eq!(
            Command::parse(&[0, 0x20, 0, 0x80, 3, 1]).unwrap_err(),
            sw::WRONG_LENGTH
        );
        for data_len in [0usize, 1, 255, 256, 1000] {
            for le in [None, Some(1), Some(256), Some(257), Some(65536)] {
                let c = Command {
                    cla: 0,
                    ins: 0xDB,
                    p1: 0x3F,
                    p2: 0xFF,
                    data: vec![7; data_len],
                    le,
                };
                assert_eq!(Command::parse(&c.encode()).unwrap(), c, "{data_len} {le:?}");
            }
        }
    }

    #[test]
    fn joins_chained_commands_and_splits_long_responses() {
        let mut t = Transport::new();
        let Step::Reply(r) = t.step(&[0x10, 0xDB, 0x3F, 0xFF, 2, 1, 2]) else {
            panic!("chained part must be answered by the transport")
        };
        assert_eq!(r, vec![0x90, 0]);
        let Step::Command(c) = t.step(&[0x00, 0xDB, 0x3F, 0xFF, 1, 3]) else {
            panic!("last part must reach the applet")
        };
        assert_eq!(c.data, vec![1, 2, 3]);
        let long: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
        let first = t.finish(&c, long.clone(), sw::OK);
        assert_eq!(first.len(), 258);
        assert_eq!(&first[256..], &[0x61, 44]);
        let Step::Reply(rest) = t.step(&[0, 0xC0, 0, 0, 44]) else {
            panic!("GET RESPONSE is the transport's")
        };
        assert_eq!(&rest[..44], &long[256..]);
        assert_eq!(&rest[44..], &[0x90, 0]);
    }
}

//! vsmartcard's vpcd socket protocol, card side. The card connects as a TCP client to
//! the vpcd reader driver inside pcscd (port 35963 for the first reader). Every
//! message is a 2-byte big-endian length and a payload; a 1-byte payload from vpcd is
//! a control: 00 power off, 01 power on, 02 reset, 04 "send your ATR". Any longer
//! payload is a command APDU, answered with the response APDU.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// vpcd's first reader ("Virtual PCD 00 00").
pub const DEFAULT_PORT: u16 = 35963;

const CTRL_OFF: u8 = 0x00;
const CTRL_ON: u8 = 0x01;
const CTRL_RESET: u8 = 0x02;
const CTRL_ATR: u8 = 0x04;

/// What vpcd needs of a card.
pub trait VirtualCard {
    fn atr(&self) -> Vec<u8>;
    fn power_off(&mut self);
    fn power_on(&mut self);
    fn reset(&mut self);
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8>;
}

/// Connects to vpcd at `addr`, retrying until `deadline` passes (pcscd may still be
/// starting).
pub fn connect(addr: SocketAddr, deadline: Duration) -> io::Result<TcpStream> {
    let start = Instant::now();
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) if start.elapsed() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Serves `card` on a connected stream until vpcd closes it (Ok) or an I/O error.
pub fn serve(stream: &mut TcpStream, card: &mut dyn VirtualCard) -> io::Result<()> {
    loop {
        let Some(msg) = read_message(stream)? else {
            return Ok(());
        };
        match msg.as_slice() {
            [CTRL_OFF] => card.power_off(),
            [CTRL_ON] => card.power_on(),
            [CTRL_RESET] => card.reset(),
            [CTRL_ATR] => write_message(stream, &card.atr())?,
            [other] => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("vpcd: unknown control byte {other:#04x}"),
                ))
            }
            apdu => {
                let resp = card.transmit(apdu);
                write_message(stream, &resp)?;
            }
        }
    }
}

/// One length-prefixed message; `None` at a clean end of stream.
pub fn read_message(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 2];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    r.read_exact(&mut buf)?;
    Ok(Some(buf))
}

/// Writes one length-prefixed message.
pub fn write_message(w: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "vpcd message over 64 KiB"))?;
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    w.write_all(&out)?;
    w.flush()
}

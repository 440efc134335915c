//! Random bytes from the kernel (getrandom), for CTAPHID nonces and
//! ClientPIN keys.

use super::Fido2Error;

/// Fills `buf` from getrandom, retrying on EINTR.
pub fn random(buf: &mut [u8]) -> Result<(), Fido2Error> {
    let mut filled = 0;
    while filled < buf.len() {
        match rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(Fido2Error::Io(format!("getrandom: {e}"))),
        }
    }
    Ok(())
}

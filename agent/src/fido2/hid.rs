//! USB FIDO2 keys over Linux hidraw, with no C library (hidapi, libudev).
//!
//! A FIDO key is a HID interface whose report descriptor declares usage page
//! 0xF1D0; sysfs (`/sys/class/hidraw/*/device/report_descriptor`) says which
//! `/dev/hidraw*` nodes those are. Reports are 64 bytes, framed by
//! `ctaphid`.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use super::ctaphid::{Channel, HidIo, CMD_CBOR, REPORT_LEN};
use super::{Authenticator, Fido2Error};

/// The FIDO Alliance's HID usage page.
const FIDO_USAGE_PAGE: u32 = 0xf1d0;

const SYSFS_HIDRAW: &str = "/sys/class/hidraw";

/// USB HID CTAP2 keys attached to this computer. No hidraw (no such sysfs
/// class, as in containers): an empty list. Keys are opened only when asked
/// for an assertion.
pub fn hid_authenticators() -> Result<Vec<Box<dyn Authenticator>>, Fido2Error> {
    Ok(scan(Path::new(SYSFS_HIDRAW), Path::new("/dev"))?
        .into_iter()
        .map(|a| Box::new(a) as Box<dyn Authenticator>)
        .collect())
}

fn scan(sysfs: &Path, dev: &Path) -> Result<Vec<HidAuthenticator>, Fido2Error> {
    let entries = match std::fs::read_dir(sysfs) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Fido2Error::Io(format!("listing {}: {e}", sysfs.display()))),
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let node = entry.file_name().to_string_lossy().into_owned();
        let Ok(descriptor) = std::fs::read(entry.path().join("device/report_descriptor")) else {
            continue;
        };
        if !is_fido_descriptor(&descriptor) {
            continue;
        }
        let path = dev.join(&node);
        if !path.exists() {
            continue;
        }
        let product = std::fs::read_to_string(entry.path().join("device/uevent"))
            .ok()
            .and_then(|u| {
                u.lines()
                    .find_map(|l| l.strip_prefix("HID_NAME=").map(str::to_string))
            })
            .unwrap_or_else(|| "FIDO2 security key".to_string());
        found.push(HidAuthenticator {
            path,
            product,
            channel: None,
            cancelled: None,
        });
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Whether a HID report descriptor declares the FIDO usage page.
pub fn is_fido_descriptor(descriptor: &[u8]) -> bool {
    let mut i = 0;
    while i < descriptor.len() {
        let prefix = descriptor[i];
        if prefix == 0xfe {
            // long item: size, tag, data
            let size = descriptor.get(i + 1).copied().unwrap_or(0) as usize;
            i += 3 + size;
            continue;
        }
        let size = [0, 1, 2, 4][(prefix & 0x03) as usize];
        let Some(data) = descriptor.get(i + 1..i + 1 + size) else {
            return false;
        };
        // Usage Page: global item, tag 0
        if prefix & 0xfc == 0x04 {
            let page = data
                .iter()
                .rev()
                .fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
            if page == FIDO_USAGE_PAGE {
                return true;
            }
        }
        i += 1 + size;
    }
    false
}

/// A FIDO2 key behind a `/dev/hidraw*` node. The node is opened at the
/// first command, and the channel kept for the next ones (a PIN token is
/// bound to the key's power-up state, not to a channel, but one open file
/// keeps the key from being swapped in between).
pub struct HidAuthenticator {
    path: PathBuf,
    product: String,
    channel: Option<Channel<Hidraw>>,
    /// Set once the login the key waits for has ended.
    cancelled: Option<Arc<AtomicBool>>,
}

impl HidAuthenticator {
    /// The key at `path` (a `/dev/hidraw*` node), without checking it.
    pub fn at(path: &Path) -> HidAuthenticator {
        HidAuthenticator {
            path: path.to_path_buf(),
            product: "FIDO2 security key".into(),
            channel: None,
            cancelled: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Authenticator for HidAuthenticator {
    fn name(&self) -> String {
        format!("{} ({})", self.product, self.path.display())
    }

    fn stop_when(&mut self, cancelled: Arc<AtomicBool>) {
        self.cancelled = Some(cancelled);
    }

    fn transact(&mut self, request: &[u8], deadline: Instant) -> Result<Vec<u8>, Fido2Error> {
        let mut channel = match self.channel.take() {
            Some(c) => c,
            None => self.open(deadline)?,
        };
        let reply = channel.transact(CMD_CBOR, request, deadline, self.cancelled.as_deref());
        // After a timeout or a broken exchange the channel is not reused.
        if reply.is_ok() {
            self.channel = Some(channel);
        }
        reply
    }
}

impl HidAuthenticator {
    fn open(&self, deadline: Instant) -> Result<Channel<Hidraw>, Fido2Error> {
        let file = OpenOptions::new().read(true).write(true).open(&self.path).map_err(|e| {
            let hint = if e.kind() == io::ErrorKind::PermissionDenied {
                " (no access to the key: a udev rule such as the one libfido2 ships grants it to the seat's user)"
            } else {
                ""
            };
            Fido2Error::Io(format!("opening {}: {e}{hint}", self.path.display()))
        })?;
        Channel::open(Hidraw(file), deadline)
    }
}

/// A hidraw node: writes carry a leading report number 0 (FIDO keys use
/// unnumbered reports); reads return the bare report.
struct Hidraw(File);

impl HidIo for Hidraw {
    fn write_report(&mut self, report: &[u8; REPORT_LEN]) -> io::Result<()> {
        let mut out = [0u8; REPORT_LEN + 1];
        out[1..].copy_from_slice(report);
        self.0.write_all(&out)
    }

    fn read_report(&mut self, deadline: Instant) -> io::Result<Option<[u8; REPORT_LEN]>> {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let timeout = Timespec {
                tv_sec: left.as_secs().min(i64::MAX as u64) as i64,
                tv_nsec: i64::from(left.subsec_nanos()),
            };
            let mut fds = [PollFd::new(&self.0, PollFlags::IN)];
            match poll(&mut fds, Some(&timeout)) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            let revents = fds[0].revents();
            if revents.intersects(PollFlags::ERR | PollFlags::HUP | PollFlags::NVAL)
                && !revents.contains(PollFlags::IN)
            {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the key was removed",
                ));
            }
            let mut buf = [0u8; REPORT_LEN];
            let n = self.0.read(&mut buf)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the key was removed",
                ));
            }
            return Ok(Some(buf));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::fido2::soft::SoftAuthenticator;
    use crate::fido2::GetAssertionRequest;

    #[test]
    fn fido_report_descriptors() {
        // a YubiKey's FIDO interface
        let yubikey = [
            0x06, 0xd0, 0xf1, 0x09, 0x01, 0xa1, 0x01, 0x09, 0x20, 0x15, 0x00, 0x26, 0xff, 0x00,
            0x75, 0x08, 0x95, 0x40, 0x81, 0x02, 0x09, 0x21, 0x15, 0x00, 0x26, 0xff, 0x00, 0x75,
            0x08, 0x95, 0x40, 0x91, 0x02, 0xc0,
        ];
        assert!(is_fido_descriptor(&yubikey));
        // a keyboard
        let keyboard = [
            0x05, 0x01, 0x09, 0x06, 0xa1, 0x01, 0x05, 0x07, 0x19, 0xe0, 0x29, 0xe7, 0xc0,
        ];
        assert!(!is_fido_descriptor(&keyboard));
        assert!(!is_fido_descriptor(&[0x06, 0xd0]), "truncated");
        assert!(!is_fido_descriptor(&[]));
    }

    #[test]
    fn scan_finds_fido_nodes_in_sysfs() {
        let dir = std::env::temp_dir().join(format!("pam-mfa-hid-scan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sys = dir.join("sys");
        let dev = dir.join("dev");
        for (node, desc, name) in [
            ("hidraw0", vec![0x05u8, 0x01, 0x09, 0x06], "Some Keyboard"),
            (
                "hidraw1",
                vec![0x06, 0xd0, 0xf1, 0x09, 0x01],
                "Yubico YubiKey OTP+FIDO+CCID",
            ),
            ("hidraw2", vec![0x06, 0xd0, 0xf1, 0x09, 0x01], "Gone Key"),
        ] {
            std::fs::create_dir_all(sys.join(node).join("device")).unwrap();
            std::fs::write(sys.join(node).join("device/report_descriptor"), desc).unwrap();
            std::fs::write(
                sys.join(node).join("device/uevent"),
                format!("HID_ID=0003:00001050:00000407\nHID_NAME={name}\n"),
            )
            .unwrap();
        }
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::write(dev.join("hidraw0"), b"").unwrap();
        std::fs::write(dev.join("hidraw1"), b"").unwrap();
        let found = scan(&sys, &dev).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].name(),
            format!(
                "Yubico YubiKey OTP+FIDO+CCID ({})",
                dev.join("hidraw1").display()
            )
        );
        assert!(scan(&dir.join("none"), &dev).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_device_is_a_clear_error() {
        let mut a = HidAuthenticator::at(Path::new("/nonexistent/hidraw9"));
        let soft = SoftAuthenticator::from_seed("example.com", b"x");
        let e = a
            .get_assertion(
                &GetAssertionRequest {
                    rp_id: soft.rp_id.clone(),
                    client_data_hash: crate::verify::webauthn::client_data_hash(
                        "pmfa1:prod3:jerry:AAAA",
                        &soft.rp_id,
                    ),
                    allow_credentials: vec![],
                    user_verification: false,
                    pin_uv_auth: None,
                },
                Instant::now() + Duration::from_secs(1),
            )
            .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/hidraw9"), "{e}");
    }
}

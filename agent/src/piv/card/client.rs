//! [`PivClient`]: the PIV applet with Yubico's extensions, over any
//! [`Transport`].

use std::time::Duration;

use zeroize::Zeroizing;

use super::apdu::{exchange, Command, Transport};
use super::error::{malformed, CardError};
use super::mgmt::ManagementKey;
use super::pcsc_transport::PcscTransport;
use super::tlv;
use super::{KeyAlgorithm, PivCard, SlotMetadata};
use crate::piv::{PinPolicy, PivSlot, TouchPolicy};

/// The PIV application identifier (NIST SP 800-73-4).
pub const PIV_AID: [u8; 5] = [0xA0, 0x00, 0x00, 0x03, 0x08];
/// Data object of the F9 attestation certificate (Yubico).
pub const OBJECT_ATTESTATION: [u8; 3] = [0x5F, 0xFF, 0x01];
/// How long [`PivCard::open`] waits for a card to be inserted.
pub const DEFAULT_CARD_WAIT: Duration = Duration::from_secs(5);

/// The data object holding a slot's certificate.
pub fn certificate_object(slot: PivSlot) -> [u8; 3] {
    match slot {
        PivSlot::Authentication => [0x5F, 0xC1, 0x05],
        PivSlot::Signature => [0x5F, 0xC1, 0x0A],
        PivSlot::KeyManagement => [0x5F, 0xC1, 0x0B],
        PivSlot::CardAuthentication => [0x5F, 0xC1, 0x01],
    }
}

/// A PIV card (a YubiKey, or any card with Yubico's extensions for what
/// needs them) over a transport.
pub struct PivClient<T: Transport> {
    t: T,
    mgmt: ManagementKey,
    /// VERIFY succeeded and no private-key operation spent it yet (a PIN
    /// `always` key needs this; also how a 6982 is explained).
    pin_fresh: bool,
    pin_verified: bool,
}

/// The PC/SC client, the one production uses.
pub type PcscPivCard = PivClient<PcscTransport>;

impl PcscPivCard {
    /// [`PivCard::open`] with a chosen wait for the card.
    pub fn open_with(reader: Option<&str>, wait: Duration) -> Result<PcscPivCard, CardError> {
        PivClient::new(<PcscTransport as Transport>::open(reader, wait)?)
    }

    /// The reader the card sits in.
    pub fn reader(&self) -> &str {
        self.t.reader()
    }
}

fn ok(sw: u16, during: &str) -> Result<(), CardError> {
    match sw {
        0x9000 => Ok(()),
        0x6A82 => Err(CardError::NotFound {
            during: during.to_owned(),
        }),
        _ => Err(CardError::Status {
            during: during.to_owned(),
            sw,
        }),
    }
}

impl<T: Transport> PivClient<T> {
    /// Selects the PIV applet on `t`. The management key is the default
    /// until [`PivClient::set_management_key`].
    pub fn new(mut t: T) -> Result<PivClient<T>, CardError> {
        let during = "SELECT PIV applet";
        let mut select = Command::new(0xA4, 0x04, 0x00, PIV_AID.to_vec());
        select.expect_data = true;
        let (_, sw) = exchange(&mut t, &select, during)?;
        if sw != 0x9000 {
            return Err(CardError::Status {
                during: format!("{during} (not a PIV card?)"),
                sw,
            });
        }
        Ok(PivClient {
            t,
            mgmt: ManagementKey::default(),
            pin_fresh: false,
            pin_verified: false,
        })
    }

    /// The transport, for callers that need it.
    pub fn transport(&mut self) -> &mut T {
        &mut self.t
    }

    fn run(&mut self, cmd: Command, during: &str) -> Result<Vec<u8>, CardError> {
        let (d, sw) = exchange(&mut self.t, &cmd, during)?;
        ok(sw, during)?;
        Ok(d)
    }

    /// Reads a data object (GET DATA): the value inside `53`.
    pub fn get_object(&mut self, object: &[u8], during: &str) -> Result<Vec<u8>, CardError> {
        let d = self.run(
            Command::new(0xCB, 0x3F, 0xFF, tlv::tlv(&[0x5C], object)),
            during,
        )?;
        let items = tlv::parse(&d).map_err(|e| malformed(during, e))?;
        tlv::find(&items, &[0x53])
            .map(<[u8]>::to_vec)
            .ok_or_else(|| malformed(during, "no 53 object"))
    }

    /// A certificate object (`70` certificate, `71` info, `FE`): the DER.
    fn certificate_in(&mut self, object: &[u8], during: &str) -> Result<Vec<u8>, CardError> {
        let v = self.get_object(object, during)?;
        let items = tlv::parse(&v).map_err(|e| malformed(during, e))?;
        if tlv::find(&items, &[0x71]).is_some_and(|i| i.first().is_some_and(|b| b & 1 != 0)) {
            return Err(malformed(during, "the certificate is stored compressed"));
        }
        let der =
            tlv::find(&items, &[0x70]).ok_or_else(|| malformed(during, "no 70 certificate"))?;
        if der.is_empty() {
            return Err(CardError::NotFound {
                during: during.to_owned(),
            });
        }
        Ok(der.to_vec())
    }

    /// Why a private-key operation in `slot` was refused with 6982.
    fn explain_6982(&mut self, slot: PivSlot, during: &str) -> CardError {
        let meta = self.metadata(slot).ok();
        let pin_needed = match meta.as_ref().map(|m| m.pin_policy) {
            Some(PinPolicy::Always) => !self.pin_fresh,
            Some(PinPolicy::Once) | Some(PinPolicy::Default) | None => !self.pin_verified,
            Some(PinPolicy::Never | PinPolicy::MatchOnce | PinPolicy::MatchAlways) => false,
        };
        let touch = meta
            .as_ref()
            .is_some_and(|m| matches!(m.touch_policy, TouchPolicy::Always | TouchPolicy::Cached));
        if pin_needed {
            CardError::PinRequired {
                during: during.to_owned(),
            }
        } else if touch {
            CardError::TouchRequired {
                during: during.to_owned(),
            }
        } else {
            CardError::Status {
                during: during.to_owned(),
                sw: 0x6982,
            }
        }
    }
}

impl<T: Transport> PivCard for PivClient<T> {
    fn open(reader: Option<&str>) -> Result<PivClient<T>, CardError> {
        PivClient::new(T::open(reader, DEFAULT_CARD_WAIT)?)
    }

    fn set_management_key(&mut self, key: ManagementKey) {
        self.mgmt = key;
    }

    fn version(&mut self) -> Result<(u8, u8, u8), CardError> {
        let during = "GET VERSION";
        match self.run(Command::new(0xFD, 0, 0, vec![]), during)?[..] {
            [a, b, c] => Ok((a, b, c)),
            ref other => Err(malformed(during, format!("{} bytes, not 3", other.len()))),
        }
    }

    fn serial(&mut self) -> Result<u32, CardError> {
        let during = "GET SERIAL";
        let d = self.run(Command::new(0xF8, 0, 0, vec![]), during)?;
        let b: [u8; 4] = d
            .try_into()
            .map_err(|d: Vec<u8>| malformed(during, format!("{} bytes, not 4", d.len())))?;
        Ok(u32::from_be_bytes(b))
    }

    fn verify_pin(&mut self, pin: &Zeroizing<String>) -> Result<(), CardError> {
        let bytes = pin.as_bytes();
        if !(6..=8).contains(&bytes.len()) {
            return Err(CardError::Invalid("a PIV PIN has 6 to 8 characters".into()));
        }
        // The APDU is built by hand so the PIN never sits in a plain Vec.
        let mut apdu = Zeroizing::new(vec![0x00, 0x20, 0x00, 0x80, 0x08]);
        apdu.extend_from_slice(bytes);
        apdu.resize(5 + 8, 0xFF);
        self.pin_fresh = false;
        let raw = self.t.transmit(&apdu, "VERIFY PIN")?;
        let (_, sw) = super::apdu::split_response(&raw, "VERIFY PIN")?;
        match sw {
            0x9000 => {
                self.pin_verified = true;
                self.pin_fresh = true;
                Ok(())
            }
            0x63C0..=0x63CF => Err(CardError::WrongPin {
                left: (sw & 0x0F) as u8,
            }),
            0x6983 => Err(CardError::WrongPin { left: 0 }),
            _ => Err(CardError::Status {
                during: "VERIFY PIN".into(),
                sw,
            }),
        }
    }

    fn pin_tries_left(&mut self) -> Result<Option<u8>, CardError> {
        let mut c = Command::new(0x20, 0x00, 0x80, vec![]);
        c.expect_data = false;
        let (_, sw) = exchange(&mut self.t, &c, "PIN status")?;
        match sw {
            0x9000 => Ok(None),
            0x63C0..=0x63CF => Ok(Some((sw & 0x0F) as u8)),
            0x6983 => Ok(Some(0)),
            _ => Err(CardError::Status {
                during: "PIN status".into(),
                sw,
            }),
        }
    }

    fn metadata(&mut self, slot: PivSlot) -> Result<SlotMetadata, CardError> {
        let during = format!("GET METADATA of slot {slot}");
        let d = self.run(
            Command::new(0xF7, 0x00, slot.key_reference(), vec![]),
            &during,
        )?;
        parse_metadata(&d, &during)
    }

    fn generate(
        &mut self,
        slot: PivSlot,
        alg: KeyAlgorithm,
        pin_policy: PinPolicy,
        touch_policy: TouchPolicy,
    ) -> Result<Vec<u8>, CardError> {
        let mgmt = self.mgmt.clone();
        mgmt.authenticate(&mut self.t)?;
        let during = format!("GENERATE in slot {slot}");
        let mut params = tlv::tlv(&[0x80], &[alg.id()]);
        if pin_policy != PinPolicy::Default {
            params.extend(tlv::tlv(&[0xAA], &[pin_policy.byte()]));
        }
        if touch_policy != TouchPolicy::Default {
            params.extend(tlv::tlv(&[0xAB], &[touch_policy.byte()]));
        }
        let d = self.run(
            Command::new(0x47, 0x00, slot.key_reference(), tlv::tlv(&[0xAC], &params)),
            &during,
        )?;
        let outer = tlv::parse(&d).map_err(|e| malformed(&during, e))?;
        let key = tlv::find(&outer, &[0x7F, 0x49])
            .ok_or_else(|| malformed(&during, "no 7F49 public key"))?;
        let items = tlv::parse(key).map_err(|e| malformed(&during, e))?;
        let point =
            tlv::find(&items, &[0x86]).ok_or_else(|| malformed(&during, "no 86 EC point"))?;
        if point.len() != alg.point_len() || point[0] != 0x04 {
            return Err(malformed(
                &during,
                format!("an EC point of {} bytes for {}", point.len(), alg.name()),
            ));
        }
        Ok(point.to_vec())
    }

    fn attest(&mut self, slot: PivSlot) -> Result<Vec<u8>, CardError> {
        let during = format!("ATTEST slot {slot}");
        let d = self.run(
            Command::new(0xF9, slot.key_reference(), 0x00, vec![]),
            &during,
        )?;
        if d.is_empty() {
            return Err(malformed(&during, "an empty certificate"));
        }
        Ok(d)
    }

    fn attestation_intermediate(&mut self) -> Result<Vec<u8>, CardError> {
        self.certificate_in(
            &OBJECT_ATTESTATION,
            "reading the F9 attestation certificate",
        )
    }

    fn certificate(&mut self, slot: PivSlot) -> Result<Vec<u8>, CardError> {
        self.certificate_in(
            &certificate_object(slot),
            &format!("reading the certificate of slot {slot}"),
        )
    }

    fn sign(&mut self, slot: PivSlot, digest: &[u8]) -> Result<Vec<u8>, CardError> {
        let alg = KeyAlgorithm::for_digest(digest.len()).ok_or_else(|| {
            CardError::Invalid(format!(
                "a digest of {} bytes: ECDSA P-256 signs 32, P-384 48",
                digest.len()
            ))
        })?;
        let during = format!("SIGN with slot {slot}");
        let mut body = tlv::tlv(&[0x82], &[]);
        body.extend(tlv::tlv(&[0x81], digest));
        let cmd = Command::new(
            0x87,
            alg.id(),
            slot.key_reference(),
            tlv::tlv(&[0x7C], &body),
        );
        let (d, sw) = exchange(&mut self.t, &cmd, &during)?;
        let was_fresh = std::mem::take(&mut self.pin_fresh);
        if sw == 0x6982 {
            self.pin_fresh = was_fresh;
            let e = self.explain_6982(slot, &during);
            self.pin_fresh = false;
            return Err(e);
        }
        ok(sw, &during)?;
        let outer = tlv::parse(&d).map_err(|e| malformed(&during, e))?;
        let t = tlv::find(&outer, &[0x7C]).ok_or_else(|| malformed(&during, "no 7C template"))?;
        let items = tlv::parse(t).map_err(|e| malformed(&during, e))?;
        let sig =
            tlv::find(&items, &[0x82]).ok_or_else(|| malformed(&during, "no 82 signature"))?;
        if sig.first() != Some(&0x30) {
            return Err(malformed(&during, "the signature is not a DER SEQUENCE"));
        }
        Ok(sig.to_vec())
    }
}

/// GET METADATA's answer for a key slot.
pub fn parse_metadata(d: &[u8], during: &str) -> Result<SlotMetadata, CardError> {
    let items = tlv::parse(d).map_err(|e| malformed(during, e))?;
    let alg_id = *tlv::find(&items, &[0x01])
        .and_then(<[u8]>::first)
        .ok_or_else(|| malformed(during, "no 01 algorithm"))?;
    let (pin_policy, touch_policy) = match tlv::find(&items, &[0x02]) {
        Some([p, t]) => (
            PinPolicy::from_byte(*p).map_err(|e| malformed(during, e))?,
            TouchPolicy::from_byte(*t).map_err(|e| malformed(during, e))?,
        ),
        _ => return Err(malformed(during, "no 02 policy of 2 bytes")),
    };
    let generated = match tlv::find(&items, &[0x03]) {
        Some([1]) => Some(true),
        Some([2]) => Some(false),
        _ => None,
    };
    let public_point = match tlv::find(&items, &[0x04]) {
        Some(v) => {
            let inner = tlv::parse(v).map_err(|e| malformed(during, e))?;
            tlv::find(&inner, &[0x86]).map(<[u8]>::to_vec)
        }
        None => None,
    };
    Ok(SlotMetadata {
        algorithm: KeyAlgorithm::from_id(alg_id),
        algorithm_id: alg_id,
        pin_policy,
        touch_policy,
        generated,
        public_point,
    })
}

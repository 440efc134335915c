//! The PIV management key (slot 9B) and mutual authentication with it, which
//! GENERATE needs. The key lives in [`Zeroizing`] memory and is never printed.

use aes::cipher::{generic_array::GenericArray, BlockDecrypt, BlockEncrypt, KeyInit};
use zeroize::Zeroizing;

use super::apdu::{exchange, Command, Transport};
use super::error::{malformed, CardError};
use super::tlv;

/// The factory-default management key of PIV cards and YubiKeys (3DES).
pub const DEFAULT_MANAGEMENT_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];

/// A management key: 3DES (PIV algorithm 03, the default) or AES-128/192/256
/// (08, 0A, 0C).
#[derive(Clone)]
pub struct ManagementKey {
    alg: u8,
    key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for ManagementKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ManagementKey(algorithm {:02x}, secret hidden)",
            self.alg
        )
    }
}

impl Default for ManagementKey {
    fn default() -> ManagementKey {
        ManagementKey {
            alg: 0x03,
            key: Zeroizing::new(DEFAULT_MANAGEMENT_KEY.to_vec()),
        }
    }
}

impl ManagementKey {
    /// A key of PIV algorithm `alg` with `key` bytes of the right length.
    pub fn new(alg: u8, key: &[u8]) -> Result<ManagementKey, CardError> {
        let want = match alg {
            0x03 => 24,
            0x08 => 16,
            0x0A => 24,
            0x0C => 32,
            _ => {
                return Err(CardError::Invalid(format!(
                    "management key algorithm {alg:02x} is not 3DES (03) or AES (08, 0a, 0c)"
                )))
            }
        };
        if key.len() != want {
            return Err(CardError::Invalid(format!(
                "management key: {want} bytes needed for algorithm {alg:02x}, got {}",
                key.len()
            )));
        }
        Ok(ManagementKey {
            alg,
            key: Zeroizing::new(key.to_vec()),
        })
    }

    /// `HEX` (3DES, 48 digits), or `3des:HEX`, `aes128:HEX`, `aes192:HEX`,
    /// `aes256:HEX`. Errors never repeat the text.
    pub fn parse(text: &str) -> Result<ManagementKey, CardError> {
        let text = text.trim();
        let (alg, hex) = match text.split_once(':') {
            None => (0x03, text),
            Some(("3des", h)) => (0x03, h),
            Some(("aes128", h)) => (0x08, h),
            Some(("aes192", h)) => (0x0A, h),
            Some(("aes256", h)) => (0x0C, h),
            Some(_) => {
                return Err(CardError::Invalid(
                    "management key: the prefix must be 3des:, aes128:, aes192: or aes256:".into(),
                ))
            }
        };
        let bad = || CardError::Invalid("management key: not hexadecimal".into());
        if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let bytes: Zeroizing<Vec<u8>> = Zeroizing::new(
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad()))
                .collect::<Result<_, _>>()?,
        );
        ManagementKey::new(alg, &bytes)
    }

    /// The PIV algorithm id.
    pub fn algorithm(&self) -> u8 {
        self.alg
    }

    /// `3DES`, `AES-128`, `AES-192`, `AES-256`.
    pub fn algorithm_name(&self) -> &'static str {
        match self.alg {
            0x03 => "3DES",
            0x08 => "AES-128",
            0x0A => "AES-192",
            _ => "AES-256",
        }
    }

    fn block_len(&self) -> usize {
        if self.alg == 0x03 {
            8
        } else {
            16
        }
    }

    fn crypt(&self, block: &[u8], encrypt: bool) -> Result<Vec<u8>, String> {
        if block.len() != self.block_len() {
            return Err(format!(
                "a block of {} bytes, not {}",
                block.len(),
                self.block_len()
            ));
        }
        let mut b = block.to_vec();
        macro_rules! run {
            ($cipher:ty) => {{
                let c = <$cipher>::new_from_slice(&self.key).map_err(|e| e.to_string())?;
                let ga = GenericArray::from_mut_slice(&mut b);
                if encrypt {
                    c.encrypt_block(ga)
                } else {
                    c.decrypt_block(ga)
                }
            }};
        }
        match self.alg {
            0x03 => run!(des::TdesEde3),
            0x08 => run!(aes::Aes128),
            0x0A => run!(aes::Aes192),
            _ => run!(aes::Aes256),
        }
        Ok(b)
    }

    /// One block through the cipher, for the card side of unit tests.
    #[cfg(test)]
    pub(crate) fn test_crypt(&self, block: &[u8], encrypt: bool) -> Vec<u8> {
        self.crypt(block, encrypt).unwrap()
    }

    /// Mutual authentication (GENERAL AUTHENTICATE, key reference 9B): the
    /// card proves it holds the key by encrypting our challenge, we prove it
    /// by decrypting its witness. A wrong key ends in 6982.
    pub fn authenticate(&self, t: &mut dyn Transport) -> Result<(), CardError> {
        let during = "management key authentication";
        let step1 = tlv::tlv(&[0x7C], &[0x80, 0x00]);
        let (d, sw) = exchange(t, &Command::new(0x87, self.alg, 0x9B, step1), during)?;
        if sw == 0x6A86 {
            return Err(CardError::Status {
                during: format!(
                    "{during} (the card's management key is not a {} key)",
                    self.algorithm_name()
                ),
                sw,
            });
        }
        check(sw, during)?;
        let witness_enc = inner(&d, 0x80, during)?;
        let witness = Zeroizing::new(
            self.crypt(&witness_enc, false)
                .map_err(|e| malformed(during, format!("witness: {e}")))?,
        );
        let mut challenge = vec![0u8; self.block_len()];
        super::random(&mut challenge)
            .map_err(|e| CardError::Invalid(format!("{during}: no randomness: {e}")))?;
        let mut body = tlv::tlv(&[0x80], &witness);
        body.extend(tlv::tlv(&[0x81], &challenge));
        let (d, sw) = exchange(
            t,
            &Command::new(0x87, self.alg, 0x9B, tlv::tlv(&[0x7C], &body)),
            during,
        )?;
        if sw == 0x6982 {
            return Err(CardError::Status {
                during: format!("{during} (wrong management key?)"),
                sw,
            });
        }
        check(sw, during)?;
        let answer = inner(&d, 0x82, during)?;
        let expected = self
            .crypt(&challenge, true)
            .map_err(|e| malformed(during, e))?;
        if !constant_eq(&answer, &expected) {
            return Err(CardError::Invalid(format!(
                "{during}: the card did not prove it holds the management key; refusing it"
            )));
        }
        Ok(())
    }
}

fn check(sw: u16, during: &str) -> Result<(), CardError> {
    if sw == 0x9000 {
        Ok(())
    } else {
        Err(CardError::Status {
            during: during.to_owned(),
            sw,
        })
    }
}

/// The value of `tag` inside the `7C` template of `data`.
fn inner(data: &[u8], tag: u8, during: &str) -> Result<Vec<u8>, CardError> {
    let outer = tlv::parse(data).map_err(|e| malformed(during, e))?;
    let t = tlv::find(&outer, &[0x7C]).ok_or_else(|| malformed(during, "no 7C template"))?;
    let items = tlv::parse(t).map_err(|e| malformed(during, e))?;
    tlv::find(&items, &[tag])
        .map(<[u8]>::to_vec)
        .ok_or_else(|| malformed(during, format!("no {tag:02X} in the 7C template")))
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms_and_errors_hide_the_key() {
        let k = ManagementKey::parse("010203040506070801020304050607080102030405060708").unwrap();
        assert_eq!(k.algorithm(), 0x03);
        assert_eq!(&k.key[..], &DEFAULT_MANAGEMENT_KEY);
        assert_eq!(
            ManagementKey::parse(&format!("aes128:{}", "ab".repeat(16)))
                .unwrap()
                .algorithm(),
            0x08
        );
        assert_eq!(
            ManagementKey::parse(&format!("aes192:{}", "ab".repeat(24)))
                .unwrap()
                .algorithm(),
            0x0A
        );
        assert_eq!(
            ManagementKey::parse(&format!("aes256:{}", "ab".repeat(32)))
                .unwrap()
                .algorithm(),
            0x0C
        );
        for bad in ["zz", "0102", "rc4:0102", "aes128:0102", "123"] {
            let e = ManagementKey::parse(bad).unwrap_err().to_string();
            assert!(!e.contains(bad) || bad.len() < 4, "{e}");
        }
        assert!(!format!("{k:?}").contains("0102"));
    }

    #[test]
    fn blocks_round_trip_and_3des_matches_a_known_answer() {
        for k in [
            ManagementKey::default(),
            ManagementKey::new(0x0A, &[7; 24]).unwrap(),
            ManagementKey::new(0x08, &[7; 16]).unwrap(),
        ] {
            let block = vec![0x5A; k.block_len()];
            let enc = k.crypt(&block, true).unwrap();
            assert_ne!(enc, block);
            assert_eq!(k.crypt(&enc, false).unwrap(), block);
            assert!(k.crypt(&[0; 3], true).is_err());
        }
        // 3DES with three equal 8-byte keys is single DES: the classic
        // FIPS 81 vector (key 0123456789abcdef, "Now is t").
        let k = ManagementKey::new(
            0x03,
            &[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef].repeat(3),
        )
        .unwrap();
        assert_eq!(
            k.crypt(b"Now is t", true).unwrap(),
            vec![0x3f, 0xa4, 0x0e, 0x8a, 0x98, 0x4d, 0x48, 0x15]
        );
    }
}

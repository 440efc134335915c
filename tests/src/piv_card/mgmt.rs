//! The management key (slot 9b): 3DES (the YubiKey default) or AES-192, one block
//! encrypted per authentication step.

use aes::cipher::{generic_array::GenericArray, BlockDecrypt, BlockEncrypt, KeyInit};

/// The well-known default management key (3DES).
pub const DEFAULT_MANAGEMENT_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];

/// A management key and its algorithm (PIV ids: 03 3DES, 0A AES-192).
#[derive(Clone)]
pub struct ManagementKey {
    alg: u8,
    key: Vec<u8>,
}

impl std::fmt::Debug for ManagementKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ManagementKey(alg {:02x})", self.alg)
    }
}

impl Default for ManagementKey {
    fn default() -> ManagementKey {
        ManagementKey {
            alg: 0x03,
            key: DEFAULT_MANAGEMENT_KEY.to_vec(),
        }
    }
}

impl ManagementKey {
    /// A key of algorithm `alg` (03 3DES or 0A AES-192); both are 24 bytes.
    pub fn new(alg: u8, key: &[u8]) -> Result<ManagementKey, String> {
        match (alg, key.len()) {
            (0x03 | 0x0A, 24) => Ok(ManagementKey {
                alg,
                key: key.to_vec(),
            }),
            (0x03 | 0x0A, n) => Err(format!("management key: 24 bytes needed, got {n}")),
            _ => Err(format!(
                "management key: algorithm {alg:#04x} is not 3DES (03) or AES-192 (0a)"
            )),
        }
    }

    /// Parses `3des:HEX`, `aes192:HEX` or plain HEX (3DES).
    pub fn parse(text: &str) -> Result<ManagementKey, String> {
        let (alg, hex) = match text.split_once(':') {
            Some(("3des", h)) => (0x03, h),
            Some(("aes192", h)) => (0x0A, h),
            Some((other, _)) => return Err(format!("management key: unknown algorithm {other}")),
            None => (0x03, text),
        };
        let hex = hex.trim();
        if hex.len() % 2 != 0 {
            return Err("management key: odd number of hex digits".into());
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| "management key: not hex".to_string())?;
        ManagementKey::new(alg, &bytes)
    }

    pub fn algorithm_id(&self) -> u8 {
        self.alg
    }

    pub fn block_len(&self) -> usize {
        if self.alg == 0x03 {
            8
        } else {
            16
        }
    }

    pub fn is_default(&self) -> bool {
        self.alg == 0x03 && self.key == DEFAULT_MANAGEMENT_KEY
    }

    /// Encrypts one block (ECB, as the PIV authentication witness and challenge are).
    pub fn encrypt(&self, block: &[u8]) -> Vec<u8> {
        if self.alg == 0x03 {
            let c = des::TdesEde3::new_from_slice(&self.key).expect("24-byte 3DES key");
            let mut b8 = GenericArray::clone_from_slice(block);
            c.encrypt_block(&mut b8);
            return b8.to_vec();
        }
        let c = aes::Aes192::new_from_slice(&self.key).expect("24-byte AES key");
        let mut b = GenericArray::clone_from_slice(block);
        c.encrypt_block(&mut b);
        b.to_vec()
    }
}

impl ManagementKey {
    /// Decrypts one block (the host side of mutual authentication).
    pub fn decrypt(&self, block: &[u8]) -> Vec<u8> {
        if self.alg == 0x03 {
            let c = des::TdesEde3::new_from_slice(&self.key).expect("24-byte 3DES key");
            let mut b = GenericArray::clone_from_slice(block);
            c.decrypt_block(&mut b);
            return b.to_vec();
        }
        let c = aes::Aes192::new_from_slice(&self.key).expect("24-byte AES key");
        let mut b = GenericArray::clone_from_slice(block);
        c.decrypt_block(&mut b);
        b.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_key_encrypts_like_3des_ede() {
        // With K1 = K2 = K3 = 0102030405060708, 3DES-EDE is single DES.
        let k = ManagementKey::default();
        let des = des::Des::new_from_slice(&DEFAULT_MANAGEMENT_KEY[..8]).unwrap();
        let mut block = GenericArray::clone_from_slice(&[0u8; 8]);
        des.encrypt_block(&mut block);
        assert_eq!(k.encrypt(&[0u8; 8]), block.to_vec());
        assert!(ManagementKey::parse("aes192:0102").is_err());
        let aes = ManagementKey::parse(&format!("aes192:{}", "11".repeat(24))).unwrap();
        assert_eq!(aes.encrypt(&[0u8; 16]).len(), 16);
    }
}

//! Ed25519 signatures over the exact bundle bytes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};

/// Parses `ed25519:BASE64` (the 32-byte raw public key) or an OpenSSH
/// `ssh-ed25519 AAAA... [comment]` line.
pub fn parse_signing_key(text: &str) -> Result<[u8; 32], String> {
    let t = text.trim();
    if let Some(b64) = t.strip_prefix("ed25519:") {
        let raw = STANDARD
            .decode(b64.trim())
            .map_err(|e| format!("signing key '{t}': bad base64: {e}"))?;
        let key: [u8; 32] = raw
            .try_into()
            .map_err(|_| format!("signing key '{t}': an Ed25519 key is 32 bytes"))?;
        check_point(&key, t)?;
        return Ok(key);
    }
    if t.starts_with("ssh-ed25519 ") {
        let pk =
            ssh_key::PublicKey::from_openssh(t).map_err(|e| format!("signing key '{t}': {e}"))?;
        let key = pk
            .key_data()
            .ed25519()
            .ok_or_else(|| format!("signing key '{t}': not an Ed25519 key"))?
            .0;
        check_point(&key, t)?;
        return Ok(key);
    }
    Err(format!(
        "signing key '{t}': write ed25519:BASE64 or an OpenSSH 'ssh-ed25519 AAAA...' line"
    ))
}

fn check_point(key: &[u8; 32], t: &str) -> Result<(), String> {
    VerifyingKey::from_bytes(key)
        .map(|_| ())
        .map_err(|_| format!("signing key '{t}': not a valid Ed25519 public key"))
}

/// Checks `signature_text` (base64 of the 64-byte signature, surrounding
/// white space ignored) over `body` against any of `keys`.
pub fn verify_bundle_signature(
    body: &[u8],
    signature_text: &[u8],
    keys: &[[u8; 32]],
) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(signature_text)
        .map_err(|_| "the bundle signature is not base64 text".to_string())?;
    let raw = STANDARD
        .decode(text.trim())
        .map_err(|e| format!("the bundle signature is not base64: {e}"))?;
    let sig_bytes: [u8; 64] = raw
        .as_slice()
        .try_into()
        .map_err(|_| format!("the bundle signature is {} bytes, not 64", raw.len()))?;
    let sig = Signature::from_bytes(&sig_bytes);
    for k in keys {
        if let Ok(vk) = VerifyingKey::from_bytes(k) {
            if vk.verify_strict(body, &sig).is_ok() {
                return Ok(raw);
            }
        }
    }
    Err("the bundle signature does not verify with any of cluster.signing_keys".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn both_key_forms_parse_to_the_same_key() {
        let sk = key(7);
        let raw = sk.verifying_key().to_bytes();
        let a = parse_signing_key(&format!("ed25519:{}", STANDARD.encode(raw))).unwrap();
        let openssh = ssh_key::PublicKey::from(ssh_key::public::Ed25519PublicKey(raw))
            .to_openssh()
            .unwrap();
        let b = parse_signing_key(&format!("{openssh} ops@example")).unwrap();
        assert_eq!(a, raw);
        assert_eq!(b, raw);
        for bad in [
            "ed25519:AAAA",
            "ed25519:!!",
            "ssh-rsa AAAA",
            "",
            "sha256:00",
        ] {
            assert!(parse_signing_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn signatures_are_checked_over_the_exact_bytes() {
        let sk = key(1);
        let other = key(2);
        let body = b"kind: role\n";
        let sig = STANDARD.encode(sk.sign(body).to_bytes());
        let keys = [
            other.verifying_key().to_bytes(),
            sk.verifying_key().to_bytes(),
        ];
        assert!(verify_bundle_signature(body, format!("{sig}\n").as_bytes(), &keys).is_ok());
        assert!(verify_bundle_signature(b"kind: role \n", sig.as_bytes(), &keys).is_err());
        assert!(verify_bundle_signature(body, sig.as_bytes(), &keys[..1]).is_err());
        assert!(verify_bundle_signature(body, b"not base64!", &keys).is_err());
        assert!(
            verify_bundle_signature(body, STANDARD.encode([0u8; 10]).as_bytes(), &keys).is_err()
        );
    }

    /// Made with `openssl pkeyutl -sign -rawin` (the recipe in agent.yaml(5)).
    #[test]
    fn an_openssl_signature_verifies() {
        let key =
            parse_signing_key("ed25519:AttaNLLtU3EQR9O3pKFg9rpukNqPc9dszLazIGNU8JA=").unwrap();
        let body = b"kind: role\nversion: v7\nmetadata: {name: x}\nspec: {}\n";
        let sig = b"JXnxZbhDcborbJruWrjAMkjcUCIgKhZJVFWjp3YpfsVmU2gi+XDNrJ71terxhugHKUevniMlXLUr0bTNHRPXAA==";
        assert!(verify_bundle_signature(body, sig, &[key]).is_ok());
        assert!(verify_bundle_signature(&body[1..], sig, &[key]).is_err());
    }
}

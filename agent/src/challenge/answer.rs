//! Answers to a challenge, as `mfactl tap` prints them (one line, well under
//! PAM's 512-byte response limit).
//!
//! - `sk1.<key>.<sig>`: an OpenSSH security-key signature of the challenge
//!   text; `<key>` is base64url(SHA-256 of the key's wire blob) and says which
//!   registered key signed; `<sig>` is base64url of the wire signature (flags
//!   and counter inside, as signed).
//! - `wa1.<selector>.<authenticatorData>.<signature>`: a WebAuthn assertion.
//! - `wb1.<selector>.<authenticatorData>.<signature>.<origin>.<form>.<data>`:
//!   a WebAuthn assertion made by the browser approval page, with what the
//!   agent needs to rebuild the browser's clientDataJSON
//!   ([`crate::verify::webauthn_browser`]).
//! - `pv1.<selector>.<signature>`: a PIV key's ECDSA signature (DER) of the
//!   tap digest of the challenge ([`crate::verify::piv_tap`]); the selector
//!   is the first 8 bytes of SHA-256 of the key's SubjectPublicKeyInfo.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::claim::MAX_ANSWER;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    SshSk {
        key_digest: [u8; 32],
        signature: Vec<u8>,
    },
    /// `wa1.<selector>.<authenticatorData>.<signature>`: a WebAuthn assertion
    /// for the cluster's rp_id; the selector is the first 8 bytes of
    /// SHA-256(credential id); clientDataJSON is rebuilt by the agent as
    /// browsers build it (see [`crate::verify::webauthn::client_data_json`]).
    Webauthn {
        selector: [u8; 8],
        authenticator_data: Vec<u8>,
        signature: Vec<u8>,
    },
    /// `wb1.`: a WebAuthn assertion made by the browser approval page.
    Browser(crate::verify::webauthn_browser::BrowserAnswer),
    /// `pv1.<selector>.<signature>`: a PIV key's signature of the challenge.
    Piv {
        selector: [u8; 8],
        signature: Vec<u8>,
    },
}

impl Answer {
    pub fn kind(&self) -> &'static str {
        match self {
            Answer::SshSk { .. } => "ssh_sk",
            Answer::Webauthn { .. } => "webauthn",
            Answer::Browser(_) => "webauthn_browser",
            Answer::Piv { .. } => "piv",
        }
    }

    /// The one-line form.
    pub fn encode(&self) -> String {
        match self {
            Answer::SshSk {
                key_digest,
                signature,
            } => {
                format!(
                    "sk1.{}.{}",
                    URL_SAFE_NO_PAD.encode(key_digest),
                    URL_SAFE_NO_PAD.encode(signature)
                )
            }
            Answer::Webauthn {
                selector,
                authenticator_data,
                signature,
            } => format!(
                "wa1.{}.{}.{}",
                URL_SAFE_NO_PAD.encode(selector),
                URL_SAFE_NO_PAD.encode(authenticator_data),
                URL_SAFE_NO_PAD.encode(signature)
            ),
            Answer::Browser(b) => crate::verify::webauthn_browser::encode_parsed(b),
            Answer::Piv {
                selector,
                signature,
            } => format!(
                "pv1.{}.{}",
                URL_SAFE_NO_PAD.encode(selector),
                URL_SAFE_NO_PAD.encode(signature)
            ),
        }
    }

    /// Parses an answer. Errors say what is wrong without echoing it (an
    /// answer is never logged). The challenge the line names after the
    /// answer (see [`super::claim`]) is not part of it.
    pub fn parse(text: &str) -> Result<Answer, String> {
        if text.len() > MAX_ANSWER {
            return Err(format!("the answer is longer than {MAX_ANSWER} bytes"));
        }
        let (text, _claim) = super::claim::split_claim(text);
        let mut parts = text.split('.');
        match parts.next() {
            Some("sk1") => {
                let (Some(k), Some(s), None) = (parts.next(), parts.next(), parts.next()) else {
                    return Err(
                        "a security-key answer has three parts: sk1.<key>.<signature>".into(),
                    );
                };
                let key = URL_SAFE_NO_PAD
                    .decode(k)
                    .map_err(|_| "the key part is not base64url".to_string())?;
                let key_digest: [u8; 32] = key
                    .try_into()
                    .map_err(|_| "the key part is not a SHA-256 digest".to_string())?;
                let signature = URL_SAFE_NO_PAD
                    .decode(s)
                    .map_err(|_| "the signature part is not base64url".to_string())?;
                if signature.is_empty() {
                    return Err("the signature is empty".into());
                }
                Ok(Answer::SshSk {
                    key_digest,
                    signature,
                })
            }
            Some("wa1") => {
                let (selector, authenticator_data, signature) =
                    crate::verify::webauthn::decode_answer(text)?;
                Ok(Answer::Webauthn {
                    selector,
                    authenticator_data,
                    signature,
                })
            }
            Some("wb1") => {
                crate::verify::webauthn_browser::decode_browser_answer(text).map(Answer::Browser)
            }
            Some("pv1") => {
                let (Some(k), Some(s), None) = (parts.next(), parts.next(), parts.next()) else {
                    return Err("a PIV answer has three parts: pv1.<key>.<signature>".into());
                };
                let selector: [u8; 8] = URL_SAFE_NO_PAD
                    .decode(k)
                    .map_err(|_| "the key part is not base64url".to_string())?
                    .try_into()
                    .map_err(|_| "the key part of a PIV answer is not 8 bytes".to_string())?;
                let signature = URL_SAFE_NO_PAD
                    .decode(s)
                    .map_err(|_| "the signature part is not base64url".to_string())?;
                if signature.is_empty() {
                    return Err("the signature is empty".into());
                }
                Ok(Answer::Piv {
                    selector,
                    signature,
                })
            }
            Some("") | None => Err("the answer is empty".into()),
            Some(_) => Err(
                "this is not a pam-mfa answer (it should start with sk1., wa1., wb1. or pv1.)"
                    .into(),
            ),
        }
    }
}

/// SHA-256 of an SSH public key's wire blob.
pub fn key_digest(key_blob: &[u8]) -> [u8; 32] {
    Sha256::digest(key_blob).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let a = Answer::SshSk {
            key_digest: key_digest(b"key"),
            signature: vec![1, 2, 3],
        };
        let line = a.encode();
        assert!(line.starts_with("sk1."));
        assert_eq!(Answer::parse(&format!(" {line}\n")).unwrap(), a);
        for (bad, words) in [
            ("", "empty"),
            ("hello", "not a pam-mfa answer"),
            ("sk1.abc", "three parts"),
            ("sk1.!!!.AAAA", "base64url"),
            ("sk1.AAAA.AAAA", "SHA-256"),
        ] {
            let e = Answer::parse(bad).unwrap_err();
            assert!(e.contains(words), "{bad}: {e}");
        }
        assert!(Answer::parse(&"sk1.".repeat(200))
            .unwrap_err()
            .contains("longer"));
    }

    #[test]
    fn piv_answers_round_trip_and_fit() {
        // The longest PIV signature: P-384 DER ECDSA, 104 bytes.
        let a = Answer::Piv {
            selector: [1, 2, 3, 4, 5, 6, 7, 8],
            signature: vec![0x30; 104],
        };
        let line = a.encode();
        assert!(line.starts_with("pv1.") && line.len() < 160, "{line}");
        assert_eq!(Answer::parse(&line).unwrap(), a);
        assert_eq!(a.kind(), "piv");
        for (bad, words) in [
            ("pv1.AQIDBAUGBwg", "three parts"),
            ("pv1.AQIDBAUGBwg.MDAw.x", "three parts"),
            ("pv1.AQID.MDAw", "not 8 bytes"),
            ("pv1.!!!.MDAw", "base64url"),
            ("pv1.AQIDBAUGBwg.", "empty"),
            ("pv1.AQIDBAUGBwg.%%", "base64url"),
            ("pv2.AQIDBAUGBwg.MDAw", "pv1."),
        ] {
            let e = Answer::parse(bad).unwrap_err();
            assert!(e.contains(words), "{bad}: {e}");
        }
    }
}

//! `mfactl tap` with a FIDO2 key asked about the credentials the prompt
//! names: Teleport's non-discoverable credentials, legacy U2F ones.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use zeroize::Zeroizing;

use super::fido2::{answer_with_authenticators, FidoTarget};
use super::Terminal;
use crate::challenge::{find_challenge, ParsedChallenge};
use crate::fido2::soft::SoftAuthenticator;
use crate::verify::webauthn::{decode_answer, verify_assertion, verify_u2f_assertion};

const RP: &str = "example.com";
const APP_ID: &str = "https://example.com:3080";

struct Quiet;

impl Terminal for Quiet {
    fn say(&mut self, _: &str) -> Result<(), String> {
        Ok(())
    }
    fn ask_hidden(&mut self, _: &str) -> Result<Zeroizing<String>, String> {
        Err("no PIN here".into())
    }
}

fn challenge() -> ParsedChallenge {
    find_challenge("pmfa1:prod3:jerry:AAAAAAAAAAAAAAAAAAAAAA").unwrap()
}

/// A key holding one non-discoverable credential for `rp`.
fn teleport_key(rp: &str, seed: &[u8]) -> SoftAuthenticator {
    let mut a = SoftAuthenticator::from_seed(rp, seed);
    a.discoverable = false;
    a
}

fn tap(a: &SoftAuthenticator, prompt: &str) -> Result<String, String> {
    let target = FidoTarget::from_prompt(prompt, RP.into());
    answer_with_authenticators(
        vec![Box::new(a.clone())],
        &challenge(),
        &target,
        false,
        &mut Quiet,
    )
}

fn ids(keys: &[&SoftAuthenticator]) -> String {
    let ids: Vec<String> = keys
        .iter()
        .map(|k| URL_SAFE_NO_PAD.encode(k.credential_id()))
        .collect();
    format!("cred={}", ids.join(","))
}

#[test]
fn prompt_words_make_the_target() {
    let t = FidoTarget::from_prompt(
        "MFA challenge pmfa1:a:b:c rp_id=example.com app_id=https://x cred=AQID,!!,BAU answers=named answer: ",
        RP.into(),
    );
    assert_eq!(t.app_id.as_deref(), Some("https://x"));
    // a word that is not base64url is left out, the others kept in order
    assert_eq!(t.credential_ids, Some(vec![vec![1, 2, 3], vec![4, 5]]));
    let old = FidoTarget::from_prompt(
        "MFA challenge pmfa1:a:b:c rp_id=example.com answer: ",
        RP.into(),
    );
    assert_eq!((old.app_id, old.credential_ids), (None, None));
}

#[test]
fn a_non_discoverable_credential_answers_when_the_prompt_names_it() {
    let key = teleport_key(RP, b"tsh mfa add");
    let other = teleport_key(RP, b"another key");
    // Without ids (an older prompt and no local file) the key has nothing to say.
    let err = tap(&key, "rp_id=example.com").unwrap_err();
    assert!(
        err.contains("no credentials") || err.contains("credential"),
        "{err}"
    );
    // Asked about another person's credential only: still nothing.
    assert!(tap(&key, &ids(&[&other])).is_err());
    // Named among others: it answers, and the agent's verifier accepts it.
    let answer = tap(&key, &ids(&[&other, &key])).unwrap();
    let (selector, ad, sig) = decode_answer(&answer).unwrap();
    assert_eq!(selector, key.credential().selector());
    verify_assertion(&key.credential(), RP, &challenge().text, &ad, &sig).unwrap();
}

#[test]
fn a_u2f_credential_is_asked_for_the_app_id() {
    // A legacy U2F registration: the credential belongs to the app id.
    let key = teleport_key(APP_ID, b"u2f");
    let words = format!("rp_id={RP} app_id={APP_ID} {}", ids(&[&key]));
    let answer = tap(&key, &words).unwrap();
    let (_, ad, sig) = decode_answer(&answer).unwrap();
    // Signed for the app id, over the clientDataJSON of the rp_id.
    let cred = key.credential();
    verify_u2f_assertion(&cred, RP, APP_ID, &challenge().text, &ad, &sig).unwrap();
    assert!(verify_assertion(&cred, RP, &challenge().text, &ad, &sig).is_err());
    // Without app_id in the prompt, the key has no credential for the rp_id.
    assert!(tap(&key, &ids(&[&key])).is_err());
}

/// A key whose id is on a `cred+=` line answers when the whole prompt
/// reaches mfactl (as ssh passes it); a pasted question alone says how many
/// ids are missing, and mfactl reads the pasted lines that hold them.
#[test]
fn ids_on_cred_plus_lines_are_asked_about_too() {
    let first = teleport_key(RP, b"first");
    let backup = teleport_key(RP, b"backup");
    let b64 = |k: &SoftAuthenticator| URL_SAFE_NO_PAD.encode(k.credential_id());
    let more = format!(
        "pam-mfa: more key ids for mfactl tap: cred+={}",
        b64(&backup)
    );
    let question = format!(
        "MFA challenge pmfa1:prod3:jerry:AAAAAAAAAAAAAAAAAAAAAA rp_id={RP} cred={} cred_more=1 answers=named answer: ",
        b64(&first)
    );
    // The question alone: the backup key is missing, and said to be.
    let alone = FidoTarget::from_prompt(&question, RP.into());
    assert_eq!(alone.missing, 1);
    let whole = format!("{more}\n{question}");
    let t = FidoTarget::from_prompt(&whole, RP.into());
    assert_eq!(t.missing, 0);
    assert_eq!(
        t.credential_ids,
        Some(vec![
            first.credential_id().to_vec(),
            backup.credential_id().to_vec()
        ])
    );
    tap(&backup, &whole).unwrap();
    // Pasted: the question, then the cred+= line, then an empty line.
    let mut input = std::io::Cursor::new(format!("{question}\n{more}\n\nnot read\n"));
    let text = super::read_pasted(&mut input, &mut Quiet).unwrap();
    assert_eq!(FidoTarget::from_prompt(&text, RP.into()).missing, 0);
    assert!(!text.contains("not read"));
    // An older one-line prompt is read as one line.
    let mut input = std::io::Cursor::new(format!("{}\nnot read\n", ids(&[&first])));
    assert!(!super::read_pasted(&mut input, &mut Quiet)
        .unwrap()
        .contains("not read"));
}

/// An id longer than WebAuthn allows (1023 bytes) is no key's credential:
/// left out of the allowList, where it would make the request too long for
/// CTAPHID and fail the real ids with it (the `tap_prompt` fuzz target
/// checks every id read is within the bound).
#[test]
fn an_id_longer_than_webauthn_allows_is_not_asked_about() {
    use super::fido2::MAX_CREDENTIAL_ID_LEN;
    let key = teleport_key(RP, b"tsh mfa add");
    let real = URL_SAFE_NO_PAD.encode(key.credential_id());
    let longest = URL_SAFE_NO_PAD.encode(vec![7u8; MAX_CREDENTIAL_ID_LEN]);
    let too_long = URL_SAFE_NO_PAD.encode(vec![7u8; MAX_CREDENTIAL_ID_LEN + 1]);
    let prompt = format!(
        "rp_id={RP} cred={too_long},{real} cred_more=2 pam-mfa: more key ids for mfactl tap: cred+={longest},{too_long}"
    );
    let t = FidoTarget::from_prompt(&prompt, RP.into());
    assert_eq!(
        t.credential_ids,
        Some(vec![
            key.credential_id().to_vec(),
            vec![7u8; MAX_CREDENTIAL_ID_LEN]
        ])
    );
    // The skipped one counts as missing: the enroll file's ids join in.
    assert_eq!(t.missing, 1);
    tap(&key, &prompt).unwrap();
}

//! ClientPIN: known answers for both PIN/UV auth protocols (computed with
//! an independent implementation, Python's `cryptography`), and the whole
//! exchange against the software authenticator.

use std::time::Duration;

use super::*;
use crate::fido2::soft::{SoftAuthenticator, MAX_PIN_RETRIES};
use crate::fido2::GetAssertionRequest;
use crate::verify::webauthn::{client_data_hash, verify_assertion};

const RP: &str = "example.com";
const CHALLENGE: &str = "pmfa1:prod3:jerry:AAAAAAAAAAAAAAAAAAAAAA";
const PIN: &str = "4831";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

#[test]
fn protocol_two_known_answers() {
    let z: [u8; 32] = core::array::from_fn(|i| i as u8);
    let secret = PinProtocol::Two.kdf(&z);
    assert_eq!(
        secret.as_slice(),
        hex(
            "a689b3b92a6ebab91192408da9c4f05c674a2bc5f938d613077716c719a8df39\
             0f6ff2ef211829c11638ef2893ea02edf195658c0572393e7680d93bc2b58d44"
        )
    );
    let enc = PinProtocol::Two.encrypt(&secret, &pin_hash(PIN), [0xa5; 16]);
    assert_eq!(
        enc,
        hex("a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5ebf15694fde61774b8795c950111672d")
    );
    assert_eq!(
        PinProtocol::Two.decrypt(&secret, &enc).unwrap().as_slice(),
        pin_hash(PIN).as_slice()
    );
    let mac = PinProtocol::Two.authenticate(&secret, b"message");
    assert_eq!(
        mac,
        hex("8ed41fb06108031d3e97613e4eb730eb882d7acdd3156b2abf9bc87cd0a9489d")
    );
    assert!(PinProtocol::Two.verify(&secret, b"message", &mac));
    assert!(!PinProtocol::Two.verify(&secret, b"messagf", &mac));
    assert!(!PinProtocol::Two.verify(&secret, b"message", &mac[..16]));
    assert!(PinProtocol::Two.decrypt(&secret, &enc[..16]).is_err());
    assert!(PinProtocol::Two.decrypt(&secret, &enc[..20]).is_err());
}

#[test]
fn protocol_one_known_answers() {
    let z: [u8; 32] = core::array::from_fn(|i| i as u8);
    let secret = PinProtocol::One.kdf(&z);
    assert_eq!(
        secret.as_slice(),
        hex("630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd")
    );
    // Protocol 1 ignores the IV it is given: always zero, not sent.
    let enc = PinProtocol::One.encrypt(&secret, &pin_hash(PIN), [0xa5; 16]);
    assert_eq!(enc, hex("d3ba052c0383097154ae46d33086d236"));
    assert_eq!(
        PinProtocol::One.decrypt(&secret, &enc).unwrap().as_slice(),
        pin_hash(PIN).as_slice()
    );
    let mac = PinProtocol::One.authenticate(&secret, b"message");
    assert_eq!(mac, hex("0e1ed6c97a5536d6813284ba23672f5a"));
    assert!(PinProtocol::One.verify(&secret, b"message", &mac));
    assert!(!PinProtocol::One.verify(&secret, b"message", &[0; 16]));
}

#[test]
fn key_agreement_keys_round_trip_and_agree() {
    let a = random_secret_key().unwrap();
    let b = random_secret_key().unwrap();
    let a_pub = parse_cose_key(&cose_key_agreement(&a.public_key())).unwrap();
    assert_eq!(a_pub, a.public_key());
    assert_eq!(
        *ecdh(&a, &b.public_key()),
        *ecdh(&b, &a_pub),
        "both sides derive the same Z"
    );
    assert!(parse_cose_key(&Value::Integer(1)).is_err());
    let Value::Map(mut m) = cose_key_agreement(&a.public_key()) else {
        unreachable!()
    };
    m.insert(Value::Integer(-3), Value::Bytes(vec![1; 32]));
    assert!(parse_cose_key(&Value::Map(m)).is_err(), "not on the curve");
}

fn pinned(protocols: &[u8]) -> SoftAuthenticator {
    let mut a = SoftAuthenticator::from_seed(RP, b"client-pin");
    a.set_pin(PIN);
    a.pin_protocols = protocols.to_vec();
    a
}

fn request(pin_uv_auth: Option<PinUvAuth>) -> GetAssertionRequest {
    GetAssertionRequest {
        rp_id: RP.into(),
        client_data_hash: client_data_hash(CHALLENGE, RP),
        allow_credentials: vec![],
        user_verification: false,
        pin_uv_auth,
    }
}

/// (UP, UV) as the agent's verifier reads them.
fn assert_flags(a: &mut SoftAuthenticator, pin_uv_auth: Option<PinUvAuth>) -> (bool, bool) {
    let cred = a.credential();
    let r = a.get_assertion(&request(pin_uv_auth), later()).unwrap();
    let v = verify_assertion(&cred, RP, CHALLENGE, &r.authenticator_data, &r.signature).unwrap();
    (v.user_present(), v.user_verified())
}

fn token_for(a: &mut SoftAuthenticator, pin: &str) -> Result<PinToken, Fido2Error> {
    let info = get_info(a, later())?;
    pin_token(a, &info, pin, RP, later())
}

#[test]
fn the_right_pin_gives_uv_with_either_protocol() {
    for (protocols, want) in [
        (&[2u8, 1][..], PinProtocol::Two),
        (&[1, 2][..], PinProtocol::Two),
        (&[1][..], PinProtocol::One),
    ] {
        let mut a = pinned(protocols);
        let info = get_info(&mut a, later()).unwrap();
        assert_eq!(info.client_pin, Some(true));
        assert_eq!(info.uv, None, "no built-in UV with a PIN");
        assert_eq!(info.uv_method(), Ok(UvMethod::Pin));
        assert_eq!(info.protocol(), Some(want));
        assert_eq!(info.token_with_permissions(), protocols.contains(&2));
        // Without the PIN: a touch, no UV.
        assert_eq!(assert_flags(&mut a, None), (true, false));
        let token = pin_token(&mut a, &info, PIN, RP, later()).unwrap();
        assert_eq!(token.protocol, want);
        let auth = token.auth_param(&client_data_hash(CHALLENGE, RP));
        assert_eq!(auth.protocol, want.number());
        assert_eq!(
            auth.param.len(),
            if want == PinProtocol::One { 16 } else { 32 }
        );
        assert_eq!(
            assert_flags(&mut a, Some(auth)),
            (true, true),
            "{protocols:?}"
        );
    }
}

#[test]
fn a_key_that_turns_permissions_down_gets_get_pin_token() {
    let mut a = pinned(&[2, 1]);
    a.token_with_permissions = false;
    let info = get_info(&mut a, later()).unwrap();
    assert!(info.token_with_permissions(), "it says FIDO_2_1");
    assert!(!info.pin_uv_auth_token);
    let token = pin_token(&mut a, &info, PIN, RP, later()).unwrap();
    let auth = token.auth_param(&client_data_hash(CHALLENGE, RP));
    assert_eq!(assert_flags(&mut a, Some(auth)), (true, true));
    assert_eq!(
        a.pin_retries, MAX_PIN_RETRIES,
        "the refused subcommand cost no try"
    );
}

#[test]
fn a_forged_or_foreign_pin_uv_auth_param_is_refused() {
    let mut a = pinned(&[2, 1]);
    let token = token_for(&mut a, PIN).unwrap();
    let mut auth = token.auth_param(&client_data_hash(CHALLENGE, RP));
    auth.param[0] ^= 1;
    assert_eq!(
        a.get_assertion(&request(Some(auth)), later()),
        Err(Fido2Error::Ctap(0x33)),
        "PIN_AUTH_INVALID"
    );
    // A token is for the rp_id it was asked for.
    let mut other = request(Some(
        token.auth_param(&client_data_hash(CHALLENGE, "evil.example")),
    ));
    other.rp_id = "evil.example".into();
    other.client_data_hash = client_data_hash(CHALLENGE, "evil.example");
    assert_eq!(
        a.get_assertion(&other, later()),
        Err(Fido2Error::Ctap(0x40)),
        "UNAUTHORIZED_PERMISSION"
    );
    // A new power-up forgets the token.
    a.power_cycle();
    let auth = token.auth_param(&client_data_hash(CHALLENGE, RP));
    assert_eq!(
        a.get_assertion(&request(Some(auth)), later()),
        Err(Fido2Error::Ctap(0x33))
    );
    // Asking for built-in UV from a key that wants its PIN.
    let mut uv = request(None);
    uv.user_verification = true;
    assert!(matches!(
        a.get_assertion(&uv, later()),
        Err(Fido2Error::UserVerificationUnavailable(_))
    ));
    assert_eq!(a.counter, 0, "nothing was signed");
}

#[test]
fn wrong_pins_count_down_and_block() {
    for protocols in [&[2u8, 1][..], &[1]] {
        let mut a = pinned(protocols);
        let p = get_info(&mut a, later()).unwrap().protocol().unwrap();
        assert_eq!(pin_retries(&mut a, p, later()), Ok(8));
        assert_eq!(
            token_for(&mut a, "0000").err(),
            Some(Fido2Error::PinInvalid { retries: Some(7) })
        );
        assert_eq!(pin_retries(&mut a, p, later()), Ok(7));
        // The right PIN restores the tries.
        token_for(&mut a, PIN).unwrap();
        assert_eq!(pin_retries(&mut a, p, later()), Ok(8));
        // Three wrong in a row: the key wants a power cycle.
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(token_for(&mut a, "0000").unwrap_err());
        }
        assert_eq!(
            seen,
            [
                Fido2Error::PinInvalid { retries: Some(7) },
                Fido2Error::PinInvalid { retries: Some(6) },
                Fido2Error::PinAuthBlocked,
            ]
        );
        assert_eq!(
            token_for(&mut a, PIN).err(),
            Some(Fido2Error::PinAuthBlocked),
            "even the right PIN waits for the power cycle"
        );
        assert_eq!(pin_retries(&mut a, p, later()), Ok(5), "and costs nothing");
        // Power cycles between wrong PINs: blocked after 8 in all.
        for left in (1..5).rev() {
            a.power_cycle();
            assert_eq!(
                token_for(&mut a, "0000").err(),
                Some(Fido2Error::PinInvalid {
                    retries: Some(left)
                })
            );
        }
        a.power_cycle();
        assert_eq!(
            token_for(&mut a, "0000").err(),
            Some(Fido2Error::PinBlocked)
        );
        assert_eq!(pin_retries(&mut a, p, later()), Ok(0));
        a.power_cycle();
        assert_eq!(token_for(&mut a, PIN).err(), Some(Fido2Error::PinBlocked));
        assert!(Fido2Error::PinBlocked.to_string().contains("reset"));
    }
}

#[test]
fn a_key_without_a_pin_says_so() {
    let mut a = SoftAuthenticator::from_seed(RP, b"no-pin");
    a.user_verification = false;
    let info = get_info(&mut a, later()).unwrap();
    assert_eq!(info.client_pin, Some(false));
    assert_eq!(info.uv_method(), Err(Fido2Error::PinNotSet));
    assert_eq!(
        pin_token(&mut a, &info, PIN, RP, later()).err(),
        Some(Fido2Error::PinNotSet)
    );
    assert!(Fido2Error::PinNotSet.to_string().contains("no PIN"));
    let bio = SoftAuthenticator::from_seed(RP, b"bio");
    let mut bio = bio;
    let info = get_info(&mut bio, later()).unwrap();
    assert_eq!(info.uv_method(), Ok(UvMethod::BuiltIn));
}

#[test]
fn the_pin_is_in_no_error_and_no_debug_output() {
    let secret_pin = "98765432";
    let mut a = SoftAuthenticator::from_seed(RP, b"leak");
    a.set_pin(secret_pin);
    let mut errors = Vec::new();
    for _ in 0..3 {
        errors.push(token_for(&mut a, "11223344").unwrap_err());
    }
    a.pin_retries = 0;
    errors.push(token_for(&mut a, secret_pin).unwrap_err());
    errors.push(Fido2Error::PinNotSet);
    for e in &errors {
        for text in [format!("{e:?}"), e.to_string()] {
            assert!(!text.contains(secret_pin), "{text}");
            assert!(!text.contains("11223344"), "{text}");
        }
    }
    assert!(!format!("{a:?}").contains(secret_pin), "{a:?}");
    let mut b = SoftAuthenticator::from_seed(RP, b"leak");
    b.set_pin(secret_pin);
    let token = token_for(&mut b, secret_pin).unwrap();
    let auth = token.auth_param(&client_data_hash(CHALLENGE, RP));
    assert!(!format!("{auth:?}").contains(secret_pin));
}

//! `mfactl enroll --webauthn`: CTAP2 makeCredential for the cluster's rp_id
//! (USB keys; the software authenticator in test builds), the attestation
//! checked against the cap's attestation CA lists.

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::device_doc::{DeviceDoc, DeviceForm};
use super::{EnrollArgs, EnrollContext, Enrolled};
use crate::fido2::{Authenticator, MakeCredentialRequest};
use crate::verify::webauthn_registration::{verify_registration, AttestationCas, Registration};

/// How long the person has to touch the key.
pub const TOUCH_DEADLINE: Duration = Duration::from_secs(60);

/// clientDataJSON as browsers build it for `navigator.credentials.create`.
pub fn create_client_data_json(challenge: &[u8], rp_id: &str) -> String {
    let challenge = URL_SAFE_NO_PAD.encode(challenge);
    let origin = serde_json::Value::String(format!("https://{rp_id}")).to_string();
    format!(
        r#"{{"type":"webauthn.create","challenge":"{challenge}","origin":{origin},"crossOrigin":false}}"#
    )
}

/// Teleport's `spec.webauthn` for a verified registration.
pub fn webauthn_spec(reg: &Registration, rp_id: &str) -> serde_json::Value {
    json!({
        "credential_id": STANDARD.encode(&reg.credential_id),
        "public_key_cbor": STANDARD.encode(&reg.public_key_cose),
        "attestation_type": reg.attestation_type,
        "aaguid": STANDARD.encode(reg.aaguid),
        "signature_counter": reg.counter,
        "credential_rp_id": rp_id,
        "credential_backup_eligible": reg.backup_eligible,
    })
}

/// Registers with `authenticator`, verifies, and builds the device; a PIN
/// (when the cluster needs one and the key verifies users by PIN) is asked
/// on the terminal.
pub fn register(
    ctx: &EnrollContext,
    args: &EnrollArgs,
    authenticator: &mut dyn Authenticator,
) -> Result<(Enrolled, Vec<u8>, String), String> {
    register_with(ctx, args, authenticator, &mut crate::ctl::tap::Tty)
}

/// How long the PIN exchange may take (no touch involved).
const PIN_DEADLINE: Duration = Duration::from_secs(10);

/// [`register`], asking a PIN on `tty`.
pub fn register_with(
    ctx: &EnrollContext,
    args: &EnrollArgs,
    authenticator: &mut dyn Authenticator,
    tty: &mut dyn crate::ctl::tap::Terminal,
) -> Result<(Enrolled, Vec<u8>, String), String> {
    let rp_id = cluster_rp_id(ctx)?;
    let cas = AttestationCas::from_cap(&ctx.bundle.cap.raw_webauthn)?;
    let mut challenge = [0u8; 32];
    crate::piv::card::random_bytes(&mut challenge)?;
    let client_data = create_client_data_json(&challenge, &rp_id);
    let client_data_hash: [u8; 32] = Sha256::digest(client_data.as_bytes()).into();
    let user_id: [u8; 32] = Sha256::digest(format!("pam-mfa user {}", args.user).as_bytes()).into();
    let mut req = MakeCredentialRequest {
        rp_id: rp_id.clone(),
        client_data_hash,
        user_id: user_id.to_vec(),
        user_name: args.user.clone(),
        user_verification: ctx.required.needs_pin(),
        pin_uv_auth: None,
    };
    if ctx.required.needs_pin() {
        pin_for_registration(authenticator, &mut req, tty)
            .map_err(|e| format!("registration failed: {e}"))?;
    }
    eprintln!(
        "Tap your security key ({}) to register it for {rp_id}.",
        authenticator.name()
    );
    let resp = authenticator
        .make_credential(&req, Instant::now() + TOUCH_DEADLINE)
        .map_err(|e| format!("registration failed: {e}"))?;
    let reg = verify_registration(&resp, &rp_id, &client_data_hash, &cas)
        .map_err(|e| format!("refusing the key: {e}"))?;
    if ctx.required.needs_pin() && !reg.user_verified {
        return Err(format!(
            "refusing the key: the cluster requires {} and the key did not verify its user",
            ctx.required
        ));
    }
    let mut notes = vec![format!(
        "registered for {rp_id}: {} attestation{}",
        reg.attestation_type,
        reg.attested_by
            .as_deref()
            .map(|ca| format!(" by {ca}"))
            .unwrap_or_default()
    )];
    if !ctx.user_known {
        notes.push(format!(
            "warning: user {:?} is not in the bundle ({}); the device names it anyway",
            args.user, ctx.bundle_origin
        ));
    }
    let device = device_doc(args, &reg, &rp_id);
    // The printed resource must load.
    crate::policy::load_bundle_str(&device.to_yaml(), "the printed mfa_device")
        .map_err(|e| format!("internal error: the printed resource does not load: {e}"))?;
    Ok((Enrolled { device, notes }, reg.credential_id, rp_id))
}

/// The cap's `webauthn.rp_id`: what keys are registered for.
fn cluster_rp_id(ctx: &EnrollContext) -> Result<String, String> {
    ctx.bundle
        .cap
        .webauthn_rp_id
        .clone()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            format!(
                "the cap ({}) has no webauthn.rp_id: WebAuthn keys cannot be registered for this cluster",
                ctx.bundle_origin
            )
        })
}

/// The `mfa_device` to print for `reg`: named `--name`, else
/// USER-webauthn- and the credential id's first eight letters and digits.
fn device_doc(args: &EnrollArgs, reg: &Registration, rp_id: &str) -> DeviceDoc {
    let short: String = URL_SAFE_NO_PAD
        .encode(&reg.credential_id)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    DeviceDoc {
        name: args
            .name
            .clone()
            .unwrap_or_else(|| format!("{}-webauthn-{short}", args.user)),
        user: args.user.clone(),
        form: DeviceForm::Webauthn(webauthn_spec(reg, rp_id)),
    }
}

/// User verification for a registration the cluster's PIN requirement
/// needs: the `uv` option for a key that verifies on its own; for a key
/// with a PIN, the PIN asked (hidden, once, never printed) and a
/// pinUvAuthParam from a token with the makeCredential permission. A key
/// with neither is refused here, before it is touched.
fn pin_for_registration(
    a: &mut dyn Authenticator,
    req: &mut MakeCredentialRequest,
    tty: &mut dyn crate::ctl::tap::Terminal,
) -> Result<(), String> {
    use crate::fido2::client_pin::{
        get_info, pin_retries, pin_token_for, UvMethod, PERMISSION_MAKE_CREDENTIAL,
    };
    let info = get_info(a, Instant::now() + PIN_DEADLINE).map_err(|e| e.to_string())?;
    match info.uv_method().map_err(|e| e.to_string())? {
        UvMethod::BuiltIn => req.user_verification = true,
        UvMethod::Pin => {
            let protocol = info
                .protocol()
                .ok_or("the key offers no PIN/UV auth protocol this client speaks")?;
            if pin_retries(a, protocol, Instant::now() + PIN_DEADLINE).ok() == Some(0) {
                return Err(crate::fido2::Fido2Error::PinBlocked.to_string());
            }
            let pin = tty.ask_hidden(&format!(
                "The cluster requires the security key's PIN. Enter the PIN of {}: ",
                a.name()
            ))?;
            if pin.chars().count() < 4 || pin.len() > 63 {
                return Err(
                    "a security key PIN has 4 to 63 characters (nothing was sent to the key)"
                        .into(),
                );
            }
            let token = pin_token_for(
                a,
                &info,
                &pin,
                &req.rp_id,
                PERMISSION_MAKE_CREDENTIAL,
                Instant::now() + PIN_DEADLINE,
            )
            .map_err(|e| e.to_string())?;
            req.pin_uv_auth = Some(token.auth_param(&req.client_data_hash));
        }
    }
    Ok(())
}

/// Appends `RP_ID BASE64URL_ID` to the file `mfactl tap` reads.
pub fn remember_credential(file: &Path, rp_id: &str, credential_id: &[u8]) -> Result<(), String> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    // Not through a symlink, 0600, and (under sudo with the user's HOME)
    // never a file of another user.
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(file)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let owner = f
        .metadata()
        .map_err(|e| format!("{}: {e}", file.display()))?
        .uid();
    let me = rustix::process::geteuid().as_raw();
    if owner != me {
        return Err(format!(
            "{} belongs to uid {owner}, not to you (uid {me}): not written",
            file.display()
        ));
    }
    let mut f = f;
    writeln!(f, "{rp_id} {}", URL_SAFE_NO_PAD.encode(credential_id))
        .map_err(|e| format!("{}: {e}", file.display()))
}

pub fn enroll_webauthn(ctx: &EnrollContext, args: &EnrollArgs) -> Result<Enrolled, String> {
    let mut list = crate::fido2::authenticators().map_err(|e| e.to_string())?;
    let authenticator = list
        .first_mut()
        .ok_or("no FIDO2 security key found (plug one in; is /dev/hidraw* readable?)")?;
    let (mut done, credential_id, rp_id) = register(ctx, args, authenticator.as_mut())?;
    let file = super::super::tap::credential_file().ok_or(
        "neither XDG_CONFIG_HOME nor HOME is set: cannot record the credential for mfactl tap",
    )?;
    remember_credential(&file, &rp_id, &credential_id)?;
    done.notes.push(format!(
        "credential id recorded in {} for mfactl tap",
        file.display()
    ));
    Ok(done)
}

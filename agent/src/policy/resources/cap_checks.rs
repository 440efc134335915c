//! What Teleport's `AuthPreferenceV2.CheckAndSetDefaults`
//! (api/types/authentication.go) refuses: such a cap cannot exist in a
//! cluster (every write and backend read runs it), so a bundle holding one
//! is refused, as one with a role Teleport refuses is (role_checks.rs).
//! `tctl get cap` never prints one; a hand-written bundle might.

use super::{factors_of, Factor, RawCapSpec, RawU2fSettings};

/// The authentication types Teleport knows (`constants.Local`, `OIDC`,
/// `SAML`, `Github`); empty is `local`.
const TYPES: [&str; 5] = ["", "local", "oidc", "saml", "github"];

/// `second_factor` values (`constants.SecondFactor*`); `u2f` is read as
/// `webauthn`. Teleport compares them exactly.
const LEGACY_FACTORS: [&str; 7] = ["", "off", "otp", "webauthn", "on", "optional", "u2f"];

/// `second_factors` entries: `SecondFactorType.decode` takes the short
/// names (what `tctl get cap` prints); the protobuf enum names are read too
/// (the API's JSON form).
const FACTORS: [&str; 8] = [
    "",
    "otp",
    "webauthn",
    "sso",
    "SECOND_FACTOR_TYPE_UNSPECIFIED",
    "SECOND_FACTOR_TYPE_OTP",
    "SECOND_FACTOR_TYPE_WEBAUTHN",
    "SECOND_FACTOR_TYPE_SSO",
];

/// The factors the cap allows (`GetSecondFactors`, cap.rs `factors_of`).
fn allowed_factors(spec: &RawCapSpec) -> Vec<Factor> {
    let list: Vec<&str> = spec
        .second_factors
        .iter()
        .flatten()
        .map(|f| f.0.as_str())
        .collect();
    factors_of(legacy(spec), &list)
}

fn legacy(spec: &RawCapSpec) -> &str {
    spec.second_factor.as_ref().map_or("", |f| f.0.as_str())
}

/// A `BoolOption` as written: `true`/`false`, or `{value: …}` (its
/// protobuf JSON form); `None` when absent.
fn bool_option(v: &Option<serde_json::Value>) -> Option<bool> {
    match v.as_ref()? {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::Object(m) => m.get("value").and_then(|b| b.as_bool()),
        _ => None,
    }
}

/// The first rule of `CheckAndSetDefaults` `spec` breaks, in Teleport's
/// order and words.
pub(super) fn refusal(spec: &RawCapSpec) -> Option<String> {
    // `spec.hardware_key` is decoded (`types.HardwareKey`: its
    // `pin_cache_timeout` a `types.Duration`) before any rule below, and
    // its `piv_slot` validated by the same function; both here, first.
    if let Some(why) = spec
        .hardware_key
        .as_ref()
        .and_then(crate::piv::HardwareKeySettings::teleport_refusal)
    {
        return Some(why);
    }
    let kind = spec.kind.as_deref().unwrap_or("");
    if !TYPES.contains(&kind) {
        return Some(format!("authentication type {kind:?} not supported"));
    }
    let legacy = legacy(spec);
    let listed = spec.second_factors.as_ref().is_some_and(|l| !l.is_empty());
    if !legacy.is_empty() && listed {
        return Some("must set either second_factor or second_factors, not both".into());
    }
    if !LEGACY_FACTORS.contains(&legacy) {
        return Some(format!("second factor type {legacy:?} not supported"));
    }
    if let Some(bad) = spec
        .second_factors
        .iter()
        .flatten()
        .find(|f| !FACTORS.contains(&f.0.as_str()))
    {
        return Some(format!("invalid SecondFactorType value {:?}", bad.0));
    }
    let factors = allowed_factors(spec);
    let webauthn = factors.contains(&Factor::Webauthn);
    if webauthn {
        if let Some(why) = webauthn_refusal(spec) {
            return Some(why);
        }
    }
    if let Some(why) = login_option_refusal(spec, webauthn) {
        return Some(why);
    }
    let enforced = !factors.is_empty() && legacy != "optional";
    let local_factor = factors.contains(&Factor::Otp) || webauthn;
    // Teleport defaults an absent allow_local_auth to true; here an absent
    // one is not judged: publishers before 2026-12 left it out of every
    // bundle, and refusing those would refuse valid SSO-only caps.
    let local_auth = bool_option(&spec.allow_local_auth) == Some(true);
    if local_auth && enforced && !local_factor {
        return Some("missing a local second factor method for local users (otp, webauthn)".into());
    }
    // An unknown `device_trust.mode` is not refused here: Teleport added
    // `required-for-humans` after the rest, and its `dtauthz` treats a mode
    // it does not know as required, as the decision does.
    None
}

/// Where WebAuthn is allowed: a U2F block needs its app id, and WebAuthn
/// needs an rp_id, written or inferred from that app id
/// (`Webauthn.CheckAndSetDefaults`).
fn webauthn_refusal(spec: &RawCapSpec) -> Option<String> {
    let app_id = spec
        .u2f
        .as_ref()
        .map(|u: &RawU2fSettings| u.app_id.as_deref().unwrap_or(""));
    if app_id == Some("") {
        return Some("u2f configuration missing app_id".into());
    }
    let rp_id = spec
        .webauthn
        .as_ref()
        .and_then(|w| w.get("rp_id"))
        .and_then(|r| r.as_str())
        .unwrap_or("");
    match (spec.webauthn.as_ref().filter(|w| !w.is_null()), app_id) {
        (None, None) => Some("missing required webauthn configuration".into()),
        (_, None) if rp_id.is_empty() => Some("webauthn configuration missing rp_id".into()),
        (_, Some(app)) if rp_id.is_empty() && super::rp_id_from_app_id(app).is_none() => Some(
            format!("failed to infer webauthn RPID from U2F App ID ({app:?})"),
        ),
        _ => None,
    }
}

/// `allow_passwordless` and `allow_headless` need WebAuthn, and a local
/// cap's `connector_name` must be one Teleport knows and allows.
fn login_option_refusal(spec: &RawCapSpec, webauthn: bool) -> Option<String> {
    let passwordless = bool_option(&spec.allow_passwordless);
    let headless = bool_option(&spec.allow_headless);
    if !webauthn && passwordless == Some(true) {
        return Some("missing required Webauthn configuration for passwordless=true".into());
    }
    if !webauthn && headless == Some(true) {
        return Some("missing required Webauthn configuration for headless=true".into());
    }
    let local = matches!(spec.kind.as_deref().unwrap_or(""), "" | "local");
    let connector = spec.connector_name.as_deref().unwrap_or("");
    let allowed = match connector {
        "" | "local" => true,
        "passwordless" => passwordless.unwrap_or(webauthn),
        "headless" => headless.unwrap_or(webauthn),
        _ => false,
    };
    (local && !allowed).then(|| format!("invalid local connector {connector:?}"))
}

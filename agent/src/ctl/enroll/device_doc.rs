//! The `mfa_device` resource enrollment prints, in the forms
//! `policy/resources/device.rs` and `piv/device_form.rs` load.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::piv::PivSlot;

/// The key a device holds.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceForm {
    /// An authorized_keys-style line of an sk key.
    SshSk(String),
    /// The attested slot and the chain (slot certificate, F9, ...), DER.
    Piv { slot: PivSlot, chain: Vec<Vec<u8>> },
    /// Teleport's `spec.webauthn` object.
    Webauthn(Value),
}

/// One `mfa_device` resource.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceDoc {
    pub name: String,
    pub user: String,
    pub form: DeviceForm,
}

/// DER as a PEM block of `label`, 64 characters a line.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn quoted(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

impl DeviceDoc {
    /// The resource as JSON (one object).
    pub fn to_json(&self) -> Value {
        let form = match &self.form {
            DeviceForm::SshSk(line) => json!({ "ssh_sk": { "public_key": line } }),
            DeviceForm::Piv { slot, chain } => json!({ "piv": {
                "slot": slot.name(),
                "attestation_chain": chain.iter().map(|d| pem_encode("CERTIFICATE", d)).collect::<Vec<_>>(),
            }}),
            DeviceForm::Webauthn(v) => json!({ "webauthn": v }),
        };
        let mut spec = json!({ "user": self.user });
        if let (Value::Object(s), Value::Object(f)) = (&mut spec, form) {
            s.extend(f);
        }
        json!({
            "kind": "mfa_device",
            "version": "v1",
            "metadata": { "name": self.name },
            "spec": spec,
        })
    }

    /// The resource as a YAML document (starting with `---`).
    pub fn to_yaml(&self) -> String {
        let mut y = String::from("---\nkind: mfa_device\nversion: v1\nmetadata:\n");
        y.push_str(&format!("  name: {}\nspec:\n", quoted(&self.name)));
        y.push_str(&format!("  user: {}\n", quoted(&self.user)));
        match &self.form {
            DeviceForm::SshSk(line) => {
                y.push_str(&format!("  ssh_sk:\n    public_key: {}\n", quoted(line)));
            }
            DeviceForm::Piv { slot, chain } => {
                y.push_str(&format!(
                    "  piv:\n    slot: \"{slot}\"\n    attestation_chain:\n"
                ));
                for der in chain {
                    y.push_str("      - |\n");
                    for line in pem_encode("CERTIFICATE", der).lines() {
                        y.push_str(&format!("        {line}\n"));
                    }
                }
            }
            DeviceForm::Webauthn(v) => {
                y.push_str("  webauthn:\n");
                if let Value::Object(m) = v {
                    for (k, val) in m {
                        y.push_str(&format!("    {k}: {val}\n"));
                    }
                }
            }
        }
        y
    }
}

//! `piv:` in agent.yaml: the roots PIV attestation chains must end at.

use std::path::PathBuf;

use serde::Deserialize;

use crate::piv::TrustedRoots;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PivConfig {
    /// PEM files of further attestation roots (each may hold several
    /// certificates), e.g. a test CA or another vendor's.
    #[serde(default)]
    pub attestation_roots: Vec<PathBuf>,
    /// Trust Yubico's PIV attestation roots, shipped with the agent.
    #[serde(default = "yes")]
    pub include_yubico_roots: bool,
}

fn yes() -> bool {
    true
}

impl Default for PivConfig {
    fn default() -> Self {
        PivConfig {
            attestation_roots: Vec::new(),
            include_yubico_roots: true,
        }
    }
}

impl PivConfig {
    pub fn check(&self) -> Result<(), String> {
        for p in &self.attestation_roots {
            if !p.is_absolute() {
                return Err(format!(
                    "piv.attestation_roots: {} is not an absolute path",
                    p.display()
                ));
            }
        }
        if !self.include_yubico_roots && self.attestation_roots.is_empty() {
            return Err(
                "piv: include_yubico_roots is false and attestation_roots is empty: no PIV key could ever be trusted"
                    .into(),
            );
        }
        Ok(())
    }

    /// Reads the roots (the files now; a file that cannot be read or holds
    /// no certificate is an error naming it).
    pub fn trusted_roots(&self) -> Result<TrustedRoots, String> {
        TrustedRoots::load(self.include_yubico_roots, &self.attestation_roots)
    }
}

#[cfg(test)]
mod tests {
    use super::super::AgentConfig;

    #[test]
    fn defaults_and_errors() {
        let c = AgentConfig::parse("fail_mode: closed\n", "t").unwrap();
        assert!(c.piv.include_yubico_roots);
        assert!(c.piv.attestation_roots.is_empty());
        assert_eq!(c.piv.trusted_roots().unwrap().roots().len(), 2);
        let c = AgentConfig::parse(
            "piv:\n  attestation_roots: [/etc/pam-mfa/piv-roots.pem]\n  include_yubico_roots: false\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.piv.attestation_roots.len(), 1);
        assert!(!c.piv.include_yubico_roots);
        let e = c.piv.trusted_roots().unwrap_err();
        assert!(e.contains("/etc/pam-mfa/piv-roots.pem: cannot read"), "{e}");
        for (bad, want) in [
            (
                "piv:\n  attestation_roots: [roots.pem]\n",
                "not an absolute path",
            ),
            (
                "piv:\n  include_yubico_roots: false\n",
                "no PIV key could ever be trusted",
            ),
            ("piv:\n  roots: []\n", "roots"),
        ] {
            let e = AgentConfig::parse(bad, "agent.yaml")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("agent.yaml"), "{e}");
            assert!(e.contains(want), "{e}");
        }
    }
}

//! What enrollment checks against: the cap and the user (from a bundle), the
//! PIV roots (agent.yaml's `piv:` plus Yubico's).

use super::EnrollArgs;
use crate::config::{AgentConfig, PivConfig, PolicySource};
use crate::piv::TrustedRoots;
use crate::policy::{load_bundle_argument, load_bundle_str, Bundle, KeyPolicy};
use crate::state::load_from_source;
use crate::sync::CacheStore;

/// The policy and trust an enrollment is judged by.
pub struct EnrollContext {
    pub bundle: Bundle,
    /// Where the bundle came from, for messages.
    pub bundle_origin: String,
    pub piv: PivConfig,
    /// Whether the user exists in the bundle.
    pub user_known: bool,
    /// The user's traits (empty for an unknown user).
    pub traits: crate::policy::Traits,
    /// The strictest `hardware_key*` over the cap and the user's roles.
    pub required: KeyPolicy,
}

/// The key policy a login of `user` must meet: the strictest over the cap and
/// every role the user holds (Teleport applies it to the whole login).
pub fn required_policy(bundle: &Bundle, user: &str) -> KeyPolicy {
    let mut p = bundle.cap.require_session_mfa.key_policy();
    if let Some(u) = bundle.users().get(user) {
        for r in &u.roles {
            if let Some(role) = bundle.roles().get(r) {
                p = p.strictest(role.require_session_mfa.key_policy());
            }
        }
    }
    p
}

impl EnrollContext {
    pub fn load(args: &EnrollArgs) -> Result<EnrollContext, String> {
        let config = if args.config.exists() || args.config_given {
            Some(AgentConfig::load(&args.config).map_err(|e| e.to_string())?)
        } else {
            None
        };
        let (bundle, bundle_origin) = match (&args.policy, &config) {
            (Some(p), _) => (
                load_bundle_argument(p).map_err(|e| e.to_string())?,
                p.display().to_string(),
            ),
            (None, Some(cfg)) => load_agent_policy(cfg)?,
            (None, None) => {
                return Err(format!(
                    "no policy to check the key against: give --policy BUNDLE, or --config AGENT_YAML ({} does not exist)",
                    args.config.display()
                ))
            }
        };
        let piv = config.map(|c| c.piv).unwrap_or_default();
        let user = bundle.users().get(&args.user);
        let traits = user.map(|u| u.traits.clone()).unwrap_or_default();
        let required = required_policy(&bundle, &args.user);
        Ok(EnrollContext {
            user_known: user.is_some(),
            traits,
            required,
            bundle_origin,
            bundle,
            piv,
        })
    }

    /// The PIV roots the agent trusts.
    pub fn piv_roots(&self) -> Result<TrustedRoots, String> {
        self.piv.check()?;
        self.piv.trusted_roots()
    }
}

/// The agent's policy as the agent would load it: its file source, or the
/// last known good bundle of an HTTPS source.
fn load_agent_policy(cfg: &AgentConfig) -> Result<(Bundle, String), String> {
    let source = cfg.policy_source()?;
    match &source {
        PolicySource::Https(_) | PolicySource::Manifest(_) => {
            let url = source.describe();
            let store = CacheStore::new(
                cfg.cluster.state_dir.clone(),
                url.clone(),
                cfg.cluster.max_bundle_bytes,
            )
            .read_only();
            let lkg = store.load()?.ok_or_else(|| {
                format!(
                    "the agent has no bundle from {url} yet ({} is empty); give --policy BUNDLE",
                    cfg.cluster.state_dir.display()
                )
            })?;
            let text = String::from_utf8(lkg.bytes)
                .map_err(|_| "the cached bundle is not UTF-8".to_owned())?;
            let origin = store.path().display().to_string();
            Ok((
                load_bundle_str(&text, &origin).map_err(|e| e.to_string())?,
                origin,
            ))
        }
        _ => Ok((
            load_from_source(&source).map_err(|e| e.to_string())?,
            source.describe(),
        )),
    }
}

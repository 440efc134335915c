//! Teleport's `cluster_networking_config` (v2): of its settings, hosts need
//! one, `spec.client_idle_timeout`, the cluster-wide idle timeout that each
//! session's roles may shorten (lib/srv/ctx.go `NewServerContext`:
//! `AdjustClientIdleTimeout(netConfig.GetClientIdleTimeout())`). The rest
//! (proxy listener mode, keep-alives, tunnel strategy) is the proxy's.

use std::time::Duration;

use serde::Deserialize;

use super::common::{v2, Metadata};

/// The cluster networking settings hosts use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkingConfig {
    /// `spec.client_idle_timeout`, when set and positive.
    pub client_idle_timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NetworkingDoc {
    #[serde(rename = "version", deserialize_with = "v2")]
    _version: String,
    #[serde(rename = "metadata")]
    _metadata: Metadata,
    #[serde(default)]
    spec: Option<RawSpec>,
}

#[derive(Debug, Default, Deserialize)]
struct RawSpec {
    #[serde(default, deserialize_with = "super::go_duration::optional_timeout")]
    client_idle_timeout: Option<Duration>,
}

impl NetworkingDoc {
    pub(crate) fn into_config(self) -> NetworkingConfig {
        NetworkingConfig {
            client_idle_timeout: self.spec.unwrap_or_default().client_idle_timeout,
        }
    }
}

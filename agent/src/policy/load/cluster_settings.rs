//! The loader's cluster-wide resources: the one `cluster_auth_preference`,
//! the one `cluster_networking_config`, and the locks.

use super::super::documents::Document;
use super::super::error::PolicyError;
use super::super::resources::{AuthPreference, Lock, NetworkingConfig};
use super::Loader;

impl Loader {
    pub(super) fn add_cap(
        &mut self,
        cap: AuthPreference,
        doc: &Document<'_>,
        origin: &str,
    ) -> Result<(), PolicyError> {
        self.claim("cluster_auth_preference", "", doc, origin, |first| {
            format!("a second cluster_auth_preference (the first is at {first}); a bundle holds at most one")
        })?;
        self.cap = Some(cap);
        Ok(())
    }

    pub(super) fn add_networking(
        &mut self,
        networking: NetworkingConfig,
        doc: &Document<'_>,
        origin: &str,
    ) -> Result<(), PolicyError> {
        self.claim("cluster_networking_config", "", doc, origin, |first| {
            format!("a second cluster_networking_config (the first is at {first}); a bundle holds at most one")
        })?;
        self.networking = Some(networking);
        Ok(())
    }

    pub(super) fn add_lock(
        &mut self,
        lock: Lock,
        doc: &Document<'_>,
        origin: &str,
    ) -> Result<(), PolicyError> {
        self.claim("lock", &lock.name, doc, origin, |first| {
            format!("duplicate lock {:?} (first defined at {first})", lock.name)
        })?;
        for warning in lock.load_warnings() {
            self.warnings
                .push(format!("{origin}:{}: {warning}", doc.content_line));
        }
        self.locks.push(lock);
        Ok(())
    }
}

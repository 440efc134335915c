//! Who is on the other end of the socket, from SO_PEERCRED only, and what
//! they may ask (DESIGN.md: root may ask about anyone; a non-root peer only
//! about itself; the AuthorizedKeysCommandUser only for keys).

use pam_mfa_protocol::RequestBody;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub pid: i32,
    pub uid: u32,
    /// The peer's user name, when its uid has one.
    pub name: Option<String>,
    /// A root peer's real uid, read at accept through the pidfd that pins
    /// the connecting process; `None` for a non-root peer or when it could
    /// not be read so.
    pub real_uid: Option<u32>,
}

/// The peer with SO_PEERCRED `uid` and `pid` (read once per connection),
/// and `real_uid` as [`Peer::real_uid`] says.
pub fn peer_from(uid: u32, pid: i32, real_uid: Option<u32>) -> Peer {
    // Root may ask anything: no need to read the user database for it (this
    // is the hot path of every PAM decision).
    let name = if uid == 0 {
        Some("root".to_string())
    } else {
        nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(|u| u.name)
    };
    Peer {
        pid,
        uid,
        name,
        real_uid,
    }
}

/// `Err` says why the peer may not make this request.
pub fn authorize(peer: &Peer, keys_uid: Option<u32>, req: &RequestBody) -> Result<(), String> {
    if peer.uid == 0 {
        return Ok(());
    }
    let is_keys_user = keys_uid == Some(peer.uid);
    let own = |name: &str| peer.name.as_deref() == Some(name);
    match req {
        RequestBody::AuthorizedKeys { .. } if is_keys_user => Ok(()),
        _ if is_keys_user => Err("the AuthorizedKeysCommandUser may only ask for keys".into()),
        RequestBody::Status => Ok(()),
        RequestBody::Begin { context, .. } => {
            let ruser_ok = context
                .ruser
                .as_deref()
                .is_none_or(|r| r.is_empty() || own(r));
            if own(&context.user) && ruser_ok {
                Ok(())
            } else {
                Err(format!("uid {} may only ask about itself", peer.uid))
            }
        }
        RequestBody::Explain(q) if own(&q.login) && q.user.is_none() => Ok(()),
        RequestBody::Explain(_) => Err("only root may explain logins of others".into()),
        RequestBody::AuthorizedKeys { .. } => {
            Err("only root and the keys user may ask for keys".into())
        }
        RequestBody::Reload => Err("only root may reload the policy".into()),
        RequestBody::Sync => Err("only root may pull the policy".into()),
        RequestBody::Sessions => Err("only root may list sessions".into()),
        RequestBody::ForgetUser { .. } => Err("only root may forget a vanished user".into()),
        RequestBody::Answer { .. } | RequestBody::Poll | RequestBody::Cancel => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pam_mfa_protocol::{ExplainQuery, PamContext, PamHook};

    fn begin(user: &str, ruser: Option<&str>) -> RequestBody {
        RequestBody::Begin {
            hook: PamHook::Auth,
            context: PamContext {
                service: "xscreensaver".into(),
                user: user.into(),
                ruser: ruser.map(Into::into),
                ..Default::default()
            },
        }
    }

    #[test]
    fn rules() {
        let root = Peer {
            pid: 1,
            uid: 0,
            name: Some("root".into()),
            real_uid: None,
        };
        let alice = Peer {
            pid: 2,
            uid: 1000,
            name: Some("alice".into()),
            real_uid: None,
        };
        let keys = Peer {
            pid: 3,
            uid: 65534,
            name: Some("nobody".into()),
            real_uid: None,
        };
        let ak = RequestBody::AuthorizedKeys {
            login: "bob".into(),
        };
        assert!(authorize(&root, Some(65534), &begin("bob", None)).is_ok());
        assert!(authorize(&root, Some(65534), &RequestBody::Reload).is_ok());
        assert!(authorize(&alice, Some(65534), &begin("alice", None)).is_ok());
        assert!(authorize(&alice, Some(65534), &begin("bob", None)).is_err());
        assert!(authorize(&alice, Some(65534), &begin("alice", Some("bob"))).is_err());
        assert!(authorize(&alice, Some(65534), &ak).is_err());
        assert!(authorize(&alice, Some(65534), &RequestBody::Reload).is_err());
        let forget = RequestBody::ForgetUser {
            name: "alice".into(),
        };
        assert!(authorize(&alice, Some(65534), &forget).is_err());
        assert!(authorize(&root, Some(65534), &forget).is_ok());
        assert!(authorize(&alice, Some(65534), &RequestBody::Status).is_ok());
        let own = RequestBody::Explain(ExplainQuery {
            login: "alice".into(),
            ..Default::default()
        });
        let other = RequestBody::Explain(ExplainQuery {
            login: "bob".into(),
            ..Default::default()
        });
        assert!(authorize(&alice, Some(65534), &own).is_ok());
        assert!(authorize(&alice, Some(65534), &other).is_err());
        assert!(authorize(&keys, Some(65534), &ak).is_ok());
        assert!(authorize(&keys, Some(65534), &begin("nobody", None)).is_err());
        assert!(authorize(&keys, Some(65534), &RequestBody::Status).is_err());
        assert!(
            authorize(&keys, None, &ak).is_err(),
            "no keys user configured"
        );
    }
}

//! Which locks are in force and whom they hold.

use std::time::SystemTime;

use super::resources::{Lock, LockTarget, WITHHELD};

/// Who a lock may hold beside the login, the node and the MFA device:
/// the cluster user, their roles, and what their certificate carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct LockHolder<'a> {
    pub user: Option<&'a str>,
    pub roles: &'a [std::sync::Arc<str>],
    /// A certificate's trusted device id.
    pub device: Option<&'a str>,
    /// The MFA device a certificate was issued with (`mfa-verified`).
    pub cert_mfa_device: Option<&'a str>,
    /// A certificate's active access requests.
    pub access_requests: &'a [String],
    /// A Machine ID bot's certificate (`bot-name@goteleport.com`).
    pub bot: bool,
    /// A bot certificate's instance (`bot-instance-id@goteleport.com`).
    pub bot_instance_id: Option<&'a str>,
    /// The SHA-256 of a bot certificate's join token
    /// (`join-token@goteleport.com`).
    pub join_token_sha256: Option<&'a str>,
    /// The position of the bundle's user whose `roles` these are, when
    /// they are (see [`LockSubject::bundle_user`]).
    pub(crate) bundle_user: Option<u32>,
}

impl<'a> LockHolder<'a> {
    /// A cluster user, or a certificate's identity.
    pub fn of(user: &'a super::resources::User) -> LockHolder<'a> {
        LockHolder {
            user: Some(&user.name),
            roles: &user.roles,
            device: user.cert().device_id.as_deref(),
            cert_mfa_device: user.cert().mfa_device.as_deref(),
            access_requests: &user.cert().access_requests,
            bot: user.cert().bot,
            bot_instance_id: user.cert().bot_instance_id.as_deref(),
            join_token_sha256: user.cert().join_token_sha256.as_deref(),
            bundle_user: None,
        }
    }
}

/// Who and what a login is, as lock targets see it.
#[derive(Debug, Clone, Copy)]
pub struct LockSubject<'a> {
    /// The cluster user, when known (an unknown login matches no user target).
    pub user: Option<&'a str>,
    /// The user's roles.
    pub roles: &'a [std::sync::Arc<str>],
    /// The host login.
    pub login: &'a str,
    /// This node's name.
    pub node: &'a str,
    /// This node's Teleport host UUID (`node.id` in agent.yaml), when known.
    pub node_id: Option<&'a str>,
    /// The MFA device id used (a registered key, a tap), if any.
    pub mfa_device: Option<&'a str>,
    /// The MFA device the certificate was issued with, if any: Teleport's
    /// `ComputeLockTargets` (lib/srv/ctx.go) names it whatever else
    /// authenticated the login.
    pub cert_mfa_device: Option<&'a str>,
    /// The trusted device of the certificate used, if any
    /// (`teleport-device-id`).
    pub device: Option<&'a str>,
    /// The access requests of the certificate used, if any.
    pub access_requests: &'a [String],
    /// The login came with a Machine ID bot's certificate.
    pub bot: bool,
    /// That bot certificate's instance id, if it carries one.
    pub bot_instance_id: Option<&'a str>,
    /// The SHA-256 (lowercase hex) of the join token that certificate
    /// carries (`join-token@goteleport.com`), if it carries one.
    pub join_token_sha256: Option<&'a str>,
    /// The position in the bundle's users of the user whose roles `roles`
    /// are, exactly (`Bundle::users().position_of`): the bundle's index then
    /// knows their roles' positions and looks up by name only those a lock
    /// names. `None`: every role is looked up by name.
    pub(crate) bundle_user: Option<u32>,
}

impl LockSubject<'_> {
    /// The names this node answers to in `node`/`server_id` targets.
    pub fn node_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.node).chain(self.node_id.filter(|id| *id != self.node))
    }
}

impl Lock {
    /// A lock is in force until its `expires` (forever without one).
    pub fn is_in_force(&self, now: SystemTime) -> bool {
        match self.expires {
            None => true,
            Some(expires) => expires > now,
        }
    }

    /// Teleport's `ComputeLockTargets` + `LockTarget.Match`: a session is
    /// a set of single-field targets (its user, its login, this node, each
    /// role, its MFA device, a certificate's trusted device, access
    /// requests, bot instance and join token: lib/services
    /// `SSHAccessLockTargets`, its test `TestSSHAccessLockTargets`), and a
    /// lock holds it when ANY ONE of them
    /// equals the lock's field of the same name. A lock that sets several
    /// fields therefore locks each of them on its own (`{login: rob,
    /// server_id: db7}` locks rob everywhere and everyone on db7), not their
    /// conjunction. A bot certificate names its join token in the
    /// `join-token@goteleport.com` extension (lib/sshca `Identity.Encode`),
    /// compared here by its SHA-256; a bot certificate WITHOUT that
    /// extension (every `token`-joined bot, whose token Teleport leaves out
    /// as a secret, and an older Teleport's) is held by every `join_token` lock
    /// in force, as every bot certificate is by a `bot_instance_id` an
    /// older publisher withheld: never a locked bot let in. Fields that
    /// hold no SSH login (`windows_desktop`, ...)
    /// never match here, but do not stop the lock's other fields from
    /// matching. The role targets are the
    /// user's role names without `default-implicit-role`: `ComputeLockTargets`
    /// takes `AccessChecker.RoleNames()`, which is lib/services
    /// `RoleSet.RoleNames` and leaves the implicit role out, so a lock on
    /// that role holds nobody.
    pub fn matches(&self, subject: &LockSubject<'_>) -> bool {
        self.matched_field(subject).is_some()
    }

    /// The first target field (as `field=value`) that holds `subject`.
    pub fn matched_field(&self, subject: &LockSubject<'_>) -> Option<String> {
        let t = &self.target;
        let hit = |field: &str, want: &Option<String>, have: Option<&str>| match (want, have) {
            (Some(w), Some(h)) if w == h => Some(format!("{field}={w}")),
            _ => None,
        };
        hit("user", &t.user, subject.user)
            .or_else(|| {
                t.role
                    .as_ref()
                    .filter(|r| subject.roles.iter().any(|s| **s == ***r))
                    .map(|r| format!("role={r}"))
            })
            .or_else(|| hit("login", &t.login, Some(subject.login)))
            .or_else(|| {
                subject.node_names().find_map(|n| {
                    hit("node", &t.node, Some(n))
                        .or_else(|| hit("server_id", &t.server_id, Some(n)))
                })
            })
            .or_else(|| host_fqdn_hit(t, subject.node_id))
            .or_else(|| hit("mfa_device", &t.mfa_device, subject.mfa_device))
            .or_else(|| hit("mfa_device", &t.mfa_device, subject.cert_mfa_device))
            .or_else(|| hit("device", &t.device, subject.device))
            .or_else(|| {
                subject
                    .access_requests
                    .iter()
                    .find_map(|r| hit("access_request", &t.access_request, Some(r.as_str())))
            })
            .or_else(|| {
                hit(
                    "bot_instance_id",
                    &t.bot_instance_id,
                    subject.bot_instance_id,
                )
            })
            .or_else(|| {
                hit(
                    "join_token_sha256",
                    &t.join_token_sha256,
                    subject.join_token_sha256,
                )
            })
            .or_else(|| every_bot_hit(t, subject))
    }
}

/// Whether `t` may hold a bot certificate it cannot tell apart: a
/// `join_token` target (a bot certificate without the join token
/// extension) or a `bot_instance_id` withheld by an older publisher.
pub(crate) fn holds_every_bot(t: &LockTarget) -> bool {
    t.join_token_sha256.is_some() || t.bot_instance_id.as_deref() == Some(WITHHELD)
}

/// The field by which `t` holds a bot certificate login it cannot tell apart.
fn every_bot_hit(t: &LockTarget, subject: &LockSubject<'_>) -> Option<String> {
    if !subject.bot {
        return None;
    }
    if let (Some(h), None) = (&t.join_token_sha256, subject.join_token_sha256) {
        return Some(format!(
            "join_token_sha256={h} (a bot certificate that does not name its join token)"
        ));
    }
    (t.bot_instance_id.as_deref() == Some(WITHHELD)).then(|| {
        format!("bot_instance_id={WITHHELD} (every bot certificate: the publisher withheld the instance)")
    })
}

/// lib/srv/ctx.go `ComputeLockTargets` also targets the node as
/// `HostFQDN(serverID, clusterName)`, `<host UUID>.<cluster name>`: a
/// `node`/`server_id` of that form locks this node when its UUID is known.
fn host_fqdn_hit(t: &super::resources::LockTarget, node_id: Option<&str>) -> Option<String> {
    let id = node_id.filter(|id| !id.is_empty())?;
    [("node", &t.node), ("server_id", &t.server_id)]
        .into_iter()
        .find_map(|(field, want)| {
            let w = want.as_deref()?;
            let cluster = w.strip_prefix(id)?.strip_prefix('.')?;
            (!cluster.is_empty()).then(|| format!("{field}={w}"))
        })
}

impl Lock {
    /// The lock names a node by `node`/`server_id`, and not this one: not
    /// by `node` (its name) nor by `node_id` (its host UUID, also as
    /// `<UUID>.<cluster>`).
    pub fn names_another_node(&self, node: &str, node_id: Option<&str>) -> bool {
        let t = &self.target;
        let names = [&t.node, &t.server_id];
        let this = |n: &str| names.iter().any(|w| w.as_deref() == Some(n));
        names.iter().any(|w| w.is_some())
            && !std::iter::once(node).chain(node_id).any(this)
            && host_fqdn_hit(t, node_id).is_none()
    }

    /// What `mfactl check` should say about this lock: a lock that sets
    /// several fields locks each of them on its own (RFD 9 advises one
    /// field per lock), and fields a host cannot judge never match here.
    pub fn load_warnings(&self) -> Vec<String> {
        let t = &self.target;
        let mut out = Vec::new();
        let mut set: Vec<String> = Vec::new();
        let mut add = |value: &Option<String>, what: fn(&str) -> String| {
            if let Some(v) = value {
                set.push(what(v));
            }
        };
        add(&t.user, |v| format!("user {v} everywhere"));
        add(&t.role, |v| format!("everyone holding role {v}"));
        add(&t.login, |v| format!("login {v} on every node"));
        add(&t.node, |v| format!("every login on node {v}"));
        add(&t.server_id, |v| format!("every login on node {v}"));
        add(&t.mfa_device, |v| {
            format!("every login with MFA device {v}")
        });
        add(&t.device, |v| {
            format!("every login from trusted device {v}")
        });
        add(&t.access_request, |v| {
            format!("every login with a certificate of access request {v}")
        });
        add(&t.bot_instance_id, |v| match v {
            WITHHELD => "every Machine ID bot certificate login".to_owned(),
            v => format!("every login with a certificate of bot instance {v}"),
        });
        add(&t.join_token_sha256, |_| {
            "every login with a bot certificate of that join token (or of none named)".to_owned()
        });
        if set.len() + t.unsupported.len() > 1 {
            out.push(format!(
                "lock {:?} sets several target fields ({}); as in Teleport each field locks on its own, not only their combination: it locks {}",
                self.name,
                t.describe(),
                set.join(", and ")
            ));
        }
        if !t.unsupported.is_empty() {
            out.push(format!(
                "lock {:?} targets {}, which hosts cannot judge: those fields never match here",
                self.name,
                t.unsupported.join(", ")
            ));
        }
        if t.join_token_sha256.is_some() {
            out.push(format!(
                "lock {:?} targets a join token: while it is in force a Machine ID bot certificate login is denied here when its certificate names that join token, or names none (every bot joined with the token method, whose token Teleport leaves out of the certificate as a secret, and an older Teleport's)",
                self.name
            ));
        }
        if t.bot_instance_id.as_deref() == Some(WITHHELD) {
            out.push(format!(
                "lock {:?} targets a bot instance its publisher withheld (an older mfactl publish): while it is in force every Machine ID bot certificate login is denied here; publish again to lock that instance only",
                self.name
            ));
        }
        out
    }
}

/// How many locks in force at `now` name a node by `node`/`server_id` that
/// is not this one ([`Lock::names_another_node`]). Without `node_id` one
/// of them may name this node by its Teleport host UUID, which is how
/// Teleport names a node there: such a lock cannot be judged for this node
/// and does not hold it (the agent's log, `mfactl status`, `doctor` and
/// `explain` say so).
pub fn node_locks_elsewhere(
    locks: &[Lock],
    node: &str,
    node_id: Option<&str>,
    now: SystemTime,
) -> usize {
    locks
        .iter()
        .filter(|l| l.is_in_force(now) && l.names_another_node(node, node_id))
        .count()
}

/// Without `node_id`, what to say of the locks [`node_locks_elsewhere`]
/// counts: one may name this node by its Teleport host UUID, as Teleport
/// names a node (lib/srv/ctx.go `ComputeLockTargets` targets only
/// `ServerID` and `HostFQDN(serverID, clusterName)`), and it was not judged
/// for this node. The agent logs it at each load; `mfactl explain` gives it
/// as a reason. `None` with a `node_id`, or with no such lock.
pub fn unjudged_node_locks(
    locks: &[Lock],
    node: &str,
    node_id: Option<&str>,
    now: SystemTime,
) -> Option<String> {
    if node_id.is_some() {
        return None;
    }
    let n = node_locks_elsewhere(locks, node, None, now);
    (n > 0).then(|| {
        format!(
            "server_id/node locks not judged for this node: {n} lock(s) in force name a node other than {node}, and none can hold this node by its Teleport host UUID while node.id is unset; set node.id in agent.yaml to that UUID (Teleport's host_uuid file, or metadata.name in `tctl get nodes`), or node.teleport_data_dir to the Teleport node's data directory"
        )
    })
}

/// The first lock in force at `now` that matches `subject`.
pub fn find_lock<'b>(
    locks: &'b [Lock],
    subject: &LockSubject<'_>,
    now: SystemTime,
) -> Option<&'b Lock> {
    locks
        .iter()
        .find(|lock| lock.is_in_force(now) && lock.matches(subject))
}

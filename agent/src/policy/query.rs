//! The question `decide` answers, and its answer.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::requirement::Requirement;

/// This host, as `agent.yaml` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeInfo {
    /// The node name (lock targets `node` and `server_id` compare with it).
    pub name: String,
    /// The Teleport host UUID (`node.id` in agent.yaml), when known: lock
    /// targets `node` and `server_id` compare with it too.
    pub id: Option<String>,
    /// The node's labels, matched against roles' `node_labels`.
    pub labels: BTreeMap<String, String>,
}

/// What kind of login is asked about (from the PAM service; agent.yaml's
/// `services` map names these as `ssh`, `admin`, `desktop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceClass {
    /// An SSH session (`sshd`).
    Ssh,
    /// An administrative action on the host (`sudo`, `su`, `polkit-1`).
    Admin,
    /// A desktop or console login (`login`, `gdm-*`, screen lockers).
    Desktop,
}

impl ServiceClass {
    /// `ssh`, `admin` or `desktop`.
    pub fn name(self) -> &'static str {
        match self {
            ServiceClass::Ssh => "ssh",
            ServiceClass::Admin => "admin",
            ServiceClass::Desktop => "desktop",
        }
    }
}

/// One login on this node.
#[derive(Debug, Clone)]
pub struct LoginQuery<'a> {
    /// This node.
    pub node: &'a NodeInfo,
    /// The host account being logged into (PAM user).
    pub login: &'a str,
    /// The cluster user when already known (from a Teleport certificate or a
    /// registered key); else it is resolved from `login`.
    pub user: Option<&'a str>,
    /// What kind of login this is.
    pub class: ServiceClass,
    /// The id of the MFA device used, if any (for `mfa_device` lock targets).
    pub mfa_device: Option<&'a str>,
    /// The time locks are judged at.
    pub now: SystemTime,
    /// The agent's view of the cluster's locks is older than
    /// `cluster.lock_view_max_age`: a login whose locking mode is strict is
    /// denied (see `policy::locking_mode`).
    pub lock_view_stale: bool,
}

/// Allowed or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// The login may proceed once `requirement` is met.
    Allow,
    /// The login is refused, whatever MFA is offered.
    Deny,
}

/// The answer for one [`LoginQuery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Allowed or denied.
    pub access: Access,
    /// What the login must prove when allowed. On a denial it is only
    /// informational (what the cluster and the user's roles would ask for).
    pub requirement: Requirement,
    /// The cluster user decided for (`None` when unknown, or when the login
    /// maps to several users).
    pub user: Option<String>,
    /// Whether the login maps to users in the bundle (so roles applied).
    pub known_user: bool,
    /// When `user` is `None` and the login maps to several cluster users
    /// (who logs in is not known): those of them the policy allows here, in
    /// name order. A tap, registered key or certificate of one of them
    /// identifies the person, and the login is decided again for them alone.
    pub candidates: Vec<String>,
    /// The roles that allowed this login.
    pub roles: Vec<String>,
    /// Whether a lock denied the login.
    pub locked: bool,
    /// The message of the lock that denied the login.
    pub lock_message: Option<String>,
    /// When who logs in is not known (several candidates): those a lock
    /// holds who could otherwise log in here. They are left out of
    /// `candidates`, and a tap (or key or certificate) of one of the others
    /// must show who logs in: Teleport holds a lock against the person it
    /// names, never against the others who share the login.
    pub locked_candidates: Vec<String>,
    /// Why, in sentences a person can read, in order.
    pub reasons: Vec<String>,
}

impl Decision {
    /// An allowing decision that requires nothing, names nobody and says
    /// nothing: the base the deciders fill in, and what
    /// [`super::apply_locks`] is applied to when only locks are asked about.
    pub fn unlocked() -> Decision {
        Decision {
            access: Access::Allow,
            requirement: super::Requirement::OFF,
            user: None,
            known_user: false,
            candidates: Vec::new(),
            roles: Vec::new(),
            locked: false,
            lock_message: None,
            locked_candidates: Vec::new(),
            reasons: Vec::new(),
        }
    }

    /// [`Decision::locked_candidates`] for a sentence: all of them when
    /// few, else the first few and how many more (a lock on a role may hold
    /// thousands, and the sentence goes into audit events).
    pub fn locked_candidates_named(&self) -> String {
        const AT_MOST: usize = 8;
        let names = &self.locked_candidates;
        if names.len() <= AT_MOST {
            return names.join(", ");
        }
        format!(
            "{} and {} more",
            names[..AT_MOST].join(", "),
            names.len() - AT_MOST
        )
    }

    /// Whether access is allowed.
    pub fn is_allowed(&self) -> bool {
        self.access == Access::Allow
    }

    /// The cluster users whose tap could satisfy this login: the user
    /// decided for, else the allowed candidates.
    pub fn tap_users(&self) -> Vec<String> {
        match &self.user {
            Some(u) => vec![u.clone()],
            None => self.candidates.clone(),
        }
    }
}

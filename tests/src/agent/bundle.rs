use super::yaml_str;

/// A policy bundle: multi-document YAML of Teleport resources, built up by the
/// test. Strings are emitted as JSON-quoted YAML scalars.
/// The cluster's WebAuthn rp_id in every test bundle.
pub const WEBAUTHN_RP_ID: &str = "e2e.example.com";

#[derive(Debug, Clone, Default)]
pub struct Bundle {
    docs: Vec<String>,
}

fn list(items: &[&str]) -> String {
    let v: Vec<String> = items.iter().map(|s| yaml_str(s)).collect();
    format!("[{}]", v.join(", "))
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let v: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}: {}", yaml_str(k), yaml_str(v)))
        .collect();
    format!("{{{}}}", v.join(", "))
}

impl Bundle {
    pub fn new() -> Bundle {
        Bundle::default()
    }

    /// A v7 role allowing `logins` on nodes with `node_labels`;
    /// `require_session_mfa` is written verbatim when given (`true`,
    /// `hardware_key_pin`, ...).
    pub fn role(
        mut self,
        name: &str,
        node_labels: &[(&str, &str)],
        logins: &[&str],
        require_session_mfa: Option<&str>,
    ) -> Bundle {
        let mut d = format!(
            "kind: role\nversion: v7\nmetadata:\n  name: {}\nspec:\n",
            yaml_str(name)
        );
        if let Some(r) = require_session_mfa {
            d.push_str(&format!("  options:\n    require_session_mfa: {r}\n"));
        }
        d.push_str(&format!(
            "  allow:\n    node_labels: {}\n    logins: {}\n",
            labels(node_labels),
            list(logins)
        ));
        self.docs.push(d);
        self
    }

    /// The scenarios' two roles: `access-dev` (nodes with env: dev, no MFA)
    /// and `access-prod` (env: prod, `require_session_mfa: <prod_mfa>`),
    /// both allowing the user's `{{internal.logins}}`.
    pub fn scenario_roles(self, prod_mfa: &str) -> Bundle {
        self.role(
            "access-dev",
            &[("env", "dev")],
            &["{{internal.logins}}"],
            None,
        )
        .role(
            "access-prod",
            &[("env", "prod")],
            &["{{internal.logins}}"],
            Some(prod_mfa),
        )
    }

    /// The cluster_auth_preference with `require_session_mfa` written verbatim.
    pub fn cap(self, require_session_mfa: &str) -> Bundle {
        self.cap_with(require_session_mfa, "")
    }

    /// [`Bundle::cap`] with more lines of its spec (`extra_spec`: each line
    /// indented two spaces, ending in a newline).
    pub fn cap_with(mut self, require_session_mfa: &str, extra_spec: &str) -> Bundle {
        self.docs.push(format!(
            "kind: cluster_auth_preference\nversion: v2\nmetadata:\n  name: cluster-auth-preference\n\
spec:\n  type: local\n  second_factor: on\n  require_session_mfa: {require_session_mfa}\n  webauthn:\n    rp_id: {WEBAUTHN_RP_ID}\n{extra_spec}"
        ));
        self
    }

    /// A v2 user with roles and `traits.logins`.
    pub fn user(mut self, name: &str, roles: &[&str], logins: &[&str]) -> Bundle {
        self.docs.push(format!(
            "kind: user\nversion: v2\nmetadata:\n  name: {}\nspec:\n  roles: {}\n  traits:\n    logins: {}\n",
            yaml_str(name),
            list(roles),
            list(logins)
        ));
        self
    }

    /// An `mfa_device` of the `ssh_sk` form registering `public_key` for `user`.
    pub fn sk_device(mut self, name: &str, user: &str, public_key: &str) -> Bundle {
        self.docs.push(format!(
            "kind: mfa_device\nversion: v1\nmetadata:\n  name: {}\nspec:\n  user: {}\n  ssh_sk:\n    public_key: {}\n",
            yaml_str(name),
            yaml_str(user),
            yaml_str(public_key)
        ));
        self
    }

    /// A v2 lock targeting a login.
    pub fn lock_login(mut self, name: &str, login: &str, message: &str) -> Bundle {
        self.docs.push(format!(
            "kind: lock\nversion: v2\nmetadata:\n  name: {}\nspec:\n  target:\n    login: {}\n  message: {}\n",
            yaml_str(name),
            yaml_str(login),
            yaml_str(message)
        ));
        self
    }

    /// A raw YAML document.
    pub fn raw(mut self, doc: &str) -> Bundle {
        self.docs.push(doc.to_string());
        self
    }

    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        for d in &self.docs {
            out.push_str("---\n");
            out.push_str(d);
        }
        out
    }
}

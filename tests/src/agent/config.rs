use std::path::{Path, PathBuf};

use super::yaml_str;

/// What goes into the generated agent.yaml (see HACKING.md).
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub node_name: String,
    /// `node.id`: the Teleport host UUID, matched by server_id/node locks.
    pub node_id: Option<String>,
    /// `node.teleport_data_dir`, whose `host_uuid` gives node.id when
    /// `node_id` is unset. None renders `""` (not read): a test host that
    /// runs Teleport must not lend its own host UUID to the agents here.
    pub teleport_data_dir: Option<PathBuf>,
    pub labels: Vec<(String, String)>,
    /// PAM service name (glob) -> `ssh` | `admin` | `desktop`.
    pub services: Vec<(String, String)>,
    /// `closed` | `open`.
    pub fail_mode: String,
    pub poll_interval: String,
    /// sshd_config's PubkeyAuthOptions, as the agent should assume them.
    pub pubkey_auth_options: Vec<String>,
    /// Raw YAML appended at the end (for options the helpers do not know).
    pub extra_yaml: String,
    /// The body of the `cluster:` section (indented keys), replacing the
    /// file source of the generated bundle (e.g. an https:// source).
    pub cluster_yaml: Option<String>,
}

impl AgentConfig {
    /// A node `e2e-<env>` labelled `env: <env>`.
    pub fn with_env(env: &str) -> AgentConfig {
        AgentConfig {
            node_name: format!("e2e-{env}"),
            node_id: None,
            teleport_data_dir: None,
            labels: vec![("env".into(), env.into())],
            services: Vec::new(),
            fail_mode: "closed".into(),
            poll_interval: "1s".into(),
            pubkey_auth_options: Vec::new(),
            extra_yaml: String::new(),
            cluster_yaml: None,
        }
    }

    pub fn service(mut self, name: &str, class: &str) -> AgentConfig {
        self.services.push((name.into(), class.into()));
        self
    }

    /// Renders agent.yaml for a bundle file, socket and audit log.
    pub fn render(&self, bundle: &Path, socket: &Path, audit: &Path) -> String {
        let mut y = String::new();
        y.push_str("node:\n");
        y.push_str(&format!("  name: {}\n", yaml_str(&self.node_name)));
        if let Some(id) = &self.node_id {
            y.push_str(&format!("  id: {}\n", yaml_str(id)));
        }
        let data_dir = self
            .teleport_data_dir
            .as_ref()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        y.push_str(&format!("  teleport_data_dir: {}\n", yaml_str(&data_dir)));
        y.push_str("  labels:\n");
        for (k, v) in &self.labels {
            y.push_str(&format!("    {}: {}\n", yaml_str(k), yaml_str(v)));
        }
        if self.labels.is_empty() {
            y.push_str("    {}\n");
        }
        y.push_str("cluster:\n");
        if let Some(c) = &self.cluster_yaml {
            y.push_str(c);
        } else {
            y.push_str(&format!(
                "  source: {}\n",
                yaml_str(&format!("file://{}", bundle.display()))
            ));
            y.push_str(&format!("  poll_interval: {}\n", self.poll_interval));
            // The agent's own state (signature counters), not the host's /var/lib.
            y.push_str(&format!(
                "  state_dir: {}\n",
                yaml_str(&socket.with_extension("state").display().to_string())
            ));
        }
        y.push_str("socket:\n");
        y.push_str(&format!(
            "  path: {}\n",
            yaml_str(&socket.display().to_string())
        ));
        y.push_str("  keys_user: nobody\n");
        if !self.services.is_empty() {
            y.push_str("services:\n");
            for (k, v) in &self.services {
                y.push_str(&format!("  {}: {}\n", yaml_str(k), yaml_str(v)));
            }
        }
        y.push_str(&format!("fail_mode: {}\n", self.fail_mode));
        y.push_str("audit:\n");
        y.push_str(&format!(
            "  sink: {}\n",
            yaml_str(&format!("file:{}", audit.display()))
        ));
        if !self.pubkey_auth_options.is_empty() {
            y.push_str("sshd:\n  pubkey_auth_options: [");
            let opts: Vec<String> = self
                .pubkey_auth_options
                .iter()
                .map(|o| yaml_str(o))
                .collect();
            y.push_str(&opts.join(", "));
            y.push_str("]\n");
        }
        y.push_str(&self.extra_yaml);
        y
    }
}

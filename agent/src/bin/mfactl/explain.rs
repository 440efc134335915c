//! `mfactl explain`: its flags, and the query they make.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use mfa_agent::ctl::commands;
use mfa_agent::ctl::{parse_label, AgentSocket, ExplainArgs};
use pam_mfa_protocol::ExplainQuery;

#[derive(Args)]
pub struct ExplainCmd {
    /// Decide offline from this bundle (a file or a directory) instead of asking the agent.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// The node's name (with --policy).
    #[arg(long)]
    node: Option<String>,
    /// The node's Teleport host UUID (with --policy), matched by server_id/node locks;
    /// without it, those naming another node than --node are not judged (a reason says so).
    #[arg(long)]
    node_id: Option<String>,
    /// A node label KEY=VALUE (with --policy); repeat for more.
    #[arg(long = "label", value_parser = parse_label)]
    labels: Vec<(String, String)>,
    /// The cluster user; resolved from the login when absent.
    #[arg(long)]
    user: Option<String>,
    /// The host account being logged in to.
    #[arg(long)]
    login: String,
    /// The PAM service.
    #[arg(long, default_value = "sshd")]
    service: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

impl ExplainCmd {
    pub fn run(self, agent: &AgentSocket) -> Result<ExitCode, String> {
        let ExplainCmd {
            policy,
            node,
            node_id,
            labels,
            user,
            login,
            service,
            json,
        } = self;
        let args = ExplainArgs {
            policy: policy.as_deref(),
            node,
            node_id,
            labels: labels.into_iter().collect::<BTreeMap<_, _>>(),
            query: ExplainQuery {
                login,
                user,
                service: Some(service),
            },
        };
        commands::explain(args, agent, json)
    }
}

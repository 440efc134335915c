//! mfa-agent: the root daemon that decides whether a login needs a tap.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::SystemTime;

use clap::Parser;

use mfa_agent::audit::{AuditSink, SinkSpec};
use mfa_agent::config::{AgentConfig, DEFAULT_CONFIG_PATH};
use mfa_agent::ipc::{bind, bind_root, check_socket_path, serve, Listeners};
use mfa_agent::notify::sd_notify;
use mfa_agent::state::{initial_load, load_at_start, spawn_reloader, AgentState, ReloadOutcome};

/// jemalloc: a bundle's many small allocations cost it no header each
/// (agent/src/heap.rs).
#[global_allocator]
static HEAP: mfa_agent::heap::Allocator = mfa_agent::heap::Allocator {};
mfa_agent::jemalloc_options!();

/// pam-mfa's agent: holds the Teleport policy, decides per-session MFA for
/// PAM logins on this host, and audits every decision.
#[derive(Parser)]
#[command(name = "mfa-agent", version)]
struct Args {
    /// The configuration file; the embedded default is used when it does not
    /// exist. SIGHUP reads it again (and the policy).
    #[arg(long, default_value = DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    /// Check the configuration and the policy, print the result, and exit.
    /// Writes nothing, whatever the source (not cluster.state_dir's last
    /// known good copy, contact or rollback floor).
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let state = match start_state(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mfa-agent: {e}");
            return ExitCode::from(2);
        }
    };
    // Before anything is read from or made beside the socket (the session
    // journal): a directory others may write is refused, and said by
    // `--check` too.
    let socket_dir = check_socket_path(&state.config.socket.path);
    if !args.check {
        if let Err(e) = socket_dir.as_ref().map_err(ToString::to_string) {
            eprintln!("mfa-agent: cannot listen: {e}");
            return ExitCode::from(1);
        }
        if let Err(e) = refuse_if_served(&state.config.socket.path) {
            eprintln!("mfa-agent: {e}");
            return ExitCode::from(1);
        }
        take_over_saved_state(&state);
    }
    if args.check {
        // The first pull too (no cached copy), bounded by cluster.timeout.
        let first = initial_load(&state);
        for w in mfa_agent::config::unit_path_warnings(&state.config) {
            eprintln!("warning: {w}");
        }
        if let Err(e) = socket_dir {
            // The agent would not start: not "configuration ok".
            eprintln!("mfa-agent: configuration refused: {e}");
            return ExitCode::from(1);
        }
        return check_result(first, &state);
    }
    // No network before the sockets: an HTTPS or manifest source without a
    // usable cached copy is pulled first on the reloader thread.
    match load_at_start(&state) {
        Some(ReloadOutcome::Rejected { error }) => eprintln!(
            "mfa-agent: starting without a policy ({error}); logins follow fail_mode until one loads"
        ),
        Some(_) => {}
        None => eprintln!(
            "mfa-agent: no usable last known good copy of {}: serving without a policy while the first pull runs (within cluster.timeout, {}s); logins follow fail_mode until one loads",
            state.source.describe(),
            state.config.cluster.timeout.as_secs_f64()
        ),
    }
    serve_until_stopped(state)
}

/// The configuration, the audit sink (stderr with `--check`) and the state
/// built from them; with `--check`, a state that writes nothing
/// (`AgentState::for_check`).
fn start_state(args: &Args) -> Result<Arc<AgentState>, String> {
    let config = AgentConfig::load(&args.config).map_err(|e| e.to_string())?;
    let clock = Arc::new(SystemTime::now);
    let mut state = if args.check {
        // Writes nothing: not the state directory, whatever the source.
        AgentState::for_check(config, clock)?
    } else {
        let sink = SinkSpec::parse(&config.audit.sink).and_then(|s| AuditSink::open(&s))?;
        AgentState::new(config, sink, clock)?
    };
    state.config_path = Some(args.config.clone());
    eprintln!("mfa-agent: {}", state.node_id.summary());
    Ok(Arc::new(state))
}

/// Another agent answers on the socket (the packaged one, while someone runs
/// a second by hand with the same socket.path): binding would take its
/// socket over and remove it on exit, leaving the running agent unreachable
/// and every login through pam_mfa.so refused. A left-over socket nobody
/// listens on (ECONNREFUSED) is replaced as before. The probe never blocks:
/// a full backlog (EAGAIN) is someone listening too.
fn refuse_if_served(path: &Path) -> Result<(), String> {
    use rustix::io::Errno;
    use rustix::net::{
        connect, socket_with, AddressFamily, SocketAddrUnix, SocketFlags, SocketType,
    };
    let served = || {
        format!(
            "another mfa-agent is serving {}: stop it first (`systemctl stop mfa-agent`), or give this one another socket.path",
            path.display()
        )
    };
    let Ok(addr) = SocketAddrUnix::new(path) else {
        return Ok(()); // bind reports the bad path
    };
    let fd = socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| format!("cannot probe {}: {e}", path.display()))?;
    match connect(&fd, &addr) {
        Ok(()) | Err(Errno::AGAIN) | Err(Errno::INPROGRESS) => Err(served()),
        Err(_) => Ok(()),
    }
}

/// What a previous run left: its live sessions, the signature counters
/// and the vanished users.
/// Before the first load, whose check then covers them too.
fn take_over_saved_state(state: &AgentState) {
    let file = mfa_agent::sessions::sessions_file(&state.config.socket.path);
    match state.sessions.attach_file(&file) {
        Ok(0) => {}
        Ok(n) => eprintln!(
            "mfa-agent: took over {n} live session(s) from {}",
            file.display()
        ),
        Err(e) => eprintln!("mfa-agent: previous session list not used: {e}"),
    }
    if let Err(e) = state
        .signature_counters
        .persist_in(&state.config.cluster.state_dir)
    {
        eprintln!("mfa-agent: signature counters: {e}; starting from none");
    }
    match mfa_agent::state::restore_vanished_users(state) {
        Ok(0) => {}
        Ok(n) => eprintln!("mfa-agent: remembering {n} vanished cluster user(s)"),
        Err(e) => eprintln!("mfa-agent: vanished users: {e}"),
    }
}

/// `--check`: the first load's outcome, printed, as the exit code.
fn check_result(first: ReloadOutcome, state: &AgentState) -> ExitCode {
    match first {
        ReloadOutcome::Loaded { revision, warnings } => {
            println!(
                "configuration ok; policy revision {revision} from {} ({warnings} warnings)",
                state.source.describe()
            );
            ExitCode::SUCCESS
        }
        ReloadOutcome::Unchanged { revision } => {
            println!("configuration ok; policy revision {revision}");
            ExitCode::SUCCESS
        }
        ReloadOutcome::Rejected { error } => {
            eprintln!("mfa-agent: configuration ok, policy refused: {error}");
            ExitCode::from(1)
        }
    }
}

/// Listens, and serves until SIGTERM or SIGINT, with the reloader (SIGHUP,
/// polls) and the session enforcer on threads of their own.
fn serve_until_stopped(state: Arc<AgentState>) -> ExitCode {
    let public = &state.config.socket.path;
    let root_socket = pam_mfa_protocol::root_socket_path(public);
    // Handled before the sockets exist: a SIGTERM right after they are
    // made must still remove them, not kill the agent by default.
    let hup = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    for (sig, flag) in [
        (signal_hook::consts::SIGHUP, &hup),
        (signal_hook::consts::SIGTERM, &stop),
        (signal_hook::consts::SIGINT, &stop),
    ] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(flag)) {
            eprintln!("mfa-agent: cannot handle signal {sig}: {e}");
            return ExitCode::from(1);
        }
    }
    let listeners = match bind(public) {
        Ok(public_listener) => match bind_root(public) {
            Ok(root) => Listeners {
                public: public_listener,
                root,
            },
            Err(e) => {
                eprintln!("mfa-agent: cannot listen on {}: {e}", root_socket.display());
                let _ = std::fs::remove_file(public);
                return ExitCode::from(1);
            }
        },
        Err(e) => {
            eprintln!("mfa-agent: cannot listen on {}: {e}", public.display());
            return ExitCode::from(1);
        }
    };
    let enforcer = mfa_agent::sessions::spawn_enforcer(Arc::clone(&state), Arc::clone(&stop));
    let reloader = spawn_reloader(
        Arc::clone(&state),
        hup,
        Arc::clone(&stop),
        mfa_agent::sync::Jitter::from_entropy(),
    );
    eprintln!(
        "mfa-agent: node {} listening on {}{}, policy from {} (revision {}), audit to {}",
        state.node.name,
        state.config.socket.path.display(),
        if listeners.root.is_some() {
            format!(" and (root only) {}", root_socket.display())
        } else {
            String::new()
        },
        state.source.describe(),
        mfa_agent::ctl::short(&state.revision()),
        state.audit.name()
    );
    sd_notify(&format!("READY=1\nSTATUS=serving node {}", state.node.name));
    let result = serve(listeners, Arc::clone(&state), Arc::clone(&stop));
    sd_notify("STOPPING=1");
    let _ = std::fs::remove_file(&state.config.socket.path);
    let _ = std::fs::remove_file(&root_socket);
    let _ = reloader.join();
    let _ = enforcer.join();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mfa-agent: {e}");
            ExitCode::from(1)
        }
    }
}

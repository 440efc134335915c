//! `pam-mfa-bench-piv-tap`: figures for a tap on a PIV key attached to this
//! host, for BENCHMARKS.md: the real agent (in the software card's mount
//! namespace) reaching the card through pcscd + vpcd, a desktop-class login
//! on a node that requires `hardware_key_touch` or `hardware_key_pin`. The
//! card's touch is scripted as immediate, so the figures are the machinery's
//! cost, not a person's. Prints a Markdown table.
//!
//! ```text
//! pam-mfa-bench-piv-tap [--rounds N]     # as root; binaries from $PAM_MFA_BIN_DIR
//! ```

use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::pam_stack::{HarnessRun, PamStack};
use pam_mfa_e2e::piv_card::env::{CardOptions, PcscEnv};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_protocol::{
    read_frame, write_frame, PamContext, PamHook, Request, RequestBody, Response, ResponseBody,
};

const SERVICE: &str = "login-bench";
const PIN: &str = "123456";

fn ykpiv(env: &PcscEnv, args: &[&str]) {
    let mut argv = vec!["yubico-piv-tool", "-r", "Virtual PCD"];
    argv.extend_from_slice(args);
    let f = env.run(&argv);
    assert!(f.success(), "{argv:?}: {f:?}");
}

/// A key in `slot` with the policies; its chain as a YAML list.
fn attested(env: &PcscEnv, slot: &str, touch: &str, pin: &str) -> String {
    let p = |n: &str| env.dir().join(format!("{slot}-{n}")).display().to_string();
    let (public, att, f9) = (p("pub.pem"), p("att.pem"), p("f9.pem"));
    let (touch, pin) = (
        format!("--touch-policy={touch}"),
        format!("--pin-policy={pin}"),
    );
    ykpiv(
        env,
        &[
            "-a", "generate", "-A", "ECCP256", "-s", slot, &touch, &pin, "-o", &public,
        ],
    );
    ykpiv(env, &["-a", "attest", "-s", slot, "-o", &att]);
    ykpiv(env, &["-a", "read-certificate", "-s", "f9", "-o", &f9]);
    let mut y = String::new();
    for pem in [&att, &f9] {
        y.push_str("      - |\n");
        for l in std::fs::read_to_string(pem).unwrap().trim_end().lines() {
            y.push_str(&format!("        {l}\n"));
        }
    }
    y
}

fn bundle(user: &str, requirement: &str, pin_cache: &str, chain: &str) -> Bundle {
    Bundle::new()
        .role("prod", &[("env", "prod")], &["{{internal.logins}}"], Some(requirement))
        .raw(&format!(
            "kind: cluster_auth_preference\nversion: v2\nmetadata:\n  name: cluster-auth-preference\n\
spec:\n  type: local\n  second_factor: on\n  webauthn:\n    rp_id: example.com\n  require_session_mfa: false\n  hardware_key:\n    pin_cache_timeout: {pin_cache}\n"
        ))
        .user(user, &["prod"], &[user])
        .raw(&format!(
            "kind: mfa_device\nversion: v1\nmetadata:\n  name: {user}-piv\nspec:\n  user: {user}\n  piv:\n    attestation_chain:\n{chain}"
        ))
}

/// One desktop login's auth over the agent's socket, as the module does
/// it, polling every 10 ms; answers a PIN prompt with [`PIN`].
fn one_login(socket: &std::path::Path, user: &str) -> Duration {
    let started = Instant::now();
    let mut s = UnixStream::connect(socket).expect("agent socket");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let ctx = PamContext {
        service: SERVICE.into(),
        user: user.into(),
        tty: Some("tty3".into()),
        ..Default::default()
    };
    let send = |s: &mut UnixStream, body: RequestBody| {
        write_frame(s, &Request::new(body)).expect("send");
    };
    send(
        &mut s,
        RequestBody::Begin {
            hook: PamHook::Auth,
            context: ctx,
        },
    );
    loop {
        let r: Response = read_frame(&mut s).expect("response");
        match r.body {
            ResponseBody::Allow { .. } => return started.elapsed(),
            ResponseBody::Wait { .. } => {
                std::thread::sleep(Duration::from_millis(10));
                send(&mut s, RequestBody::Poll);
            }
            ResponseBody::Prompt { .. } => send(
                &mut s,
                RequestBody::Answer {
                    answers: vec![PIN.into()],
                },
            ),
            other => panic!("login not allowed: {other:?}"),
        }
    }
}

fn stats(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.9), *v.last().unwrap())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn row(what: &str, v: Vec<Duration>) {
    let n = v.len();
    let (p50, p90, max) = stats(v);
    println!("| {what} | {} | {} | {} | {n} |", ms(p50), ms(p90), ms(max));
}

/// `--rounds N` (default 20); anything else prints the usage and exits 2.
fn rounds_arg() -> usize {
    let mut rounds = 20usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--rounds N")
            }
            _ => {
                eprintln!("usage: pam-mfa-bench-piv-tap [--rounds N]");
                std::process::exit(2);
            }
        }
    }
    rounds
}

fn main() {
    let rounds = rounds_arg();
    let card = bins::bin_dir().join("piv-card");
    bins::require(&card);
    // Absolute: it is started through nsenter, whose working directory is not ours.
    let card = std::fs::canonicalize(&card).expect("piv-card path");
    let mut env = PcscEnv::start("bench-piv-tap");
    env.start_card(
        &card,
        &CardOptions {
            serial: 31_415_926,
            ..CardOptions::default()
        },
    );
    let touch = attested(&env, "9c", "always", "never");
    let pin = attested(&env, "9d", "never", "once");
    let work = WorkDir::new("bench-piv-tap");
    let user = TestUser::create();
    let mut config = AgentConfig::with_env("prod").service(SERVICE, "desktop");
    config.extra_yaml = format!(
        "piv:\n  attestation_roots: [{}]\n",
        env.root_cert_path().display()
    );
    let agent = Agent::start_wrapped(
        &work,
        &config,
        &bundle(&user.name, "hardware_key_touch", "0s", &touch),
        env.mount_only_prefix(),
    );
    let login = || one_login(&agent.socket, &user.name);
    println!("| local PIV tap, desktop login (auth hook) | p50 | p90 | max | rounds |");
    println!("|---|---|---|---|---|");
    login();
    row(
        "touch-always key: open the card, sign the challenge, verify against the attestation",
        (0..rounds).map(|_| login()).collect(),
    );
    agent.update_bundle(&bundle(&user.name, "hardware_key_pin", "0s", &pin));
    login();
    row(
        "PIN-once key, PIN asked every time (pin_cache_timeout 0s), answered at once",
        (0..rounds).map(|_| login()).collect(),
    );
    agent.update_bundle(&bundle(&user.name, "hardware_key_pin", "5m", &pin));
    login();
    row(
        "PIN-once key, PIN from the cache (pin_cache_timeout 5m)",
        (0..rounds).map(|_| login()).collect(),
    );
    agent.update_bundle(&bundle(&user.name, "hardware_key_touch", "0s", &touch));
    harness_row(&agent, &work, &user.name, rounds);
}

/// The whole PAM path: pam-harness (a process per login) with the module,
/// which polls when the agent says (every 100 ms).
fn harness_row(agent: &Agent, work: &WorkDir, user: &str, rounds: usize) {
    let module = bins::pam_module();
    bins::require(&module);
    let args = format!("socket={} timeout=30", agent.socket.display());
    let stack = PamStack::new(
        work,
        SERVICE,
        &format!(
            "auth required {m} {args}\naccount required {m} {args}\n",
            m = module.display()
        ),
    );
    let harness = || {
        let mut r = HarnessRun::new(user, "auth+account");
        r.tty = Some("tty3".into());
        let t = Instant::now();
        let out = stack.run(&r);
        assert_eq!(out.result("auth"), "PAM_SUCCESS", "{}", out.describe());
        t.elapsed()
    };
    harness();
    row(
        "touch-always key through pam-harness + pam_mfa.so (auth and account, a process per login)",
        (0..rounds).map(|_| harness()).collect(),
    );
}

//! `pam-mfa-soak`: figures for RELIABILITY.md (not a pass/fail test, though
//! it stops at the first login that does not succeed).
//!
//! Starts `mfa-agent` on the example policy plus a no-MFA role and a
//! WebAuthn credential (node prod3, env=prod), then drives `pam_authenticate`
//! through `pam_mfa.so` with Linux-PAM's `pam_start_confdir`, a fresh handle
//! per login as sshd does:
//! 1. `--decisions N` logins that need no tap (user sam, role ops-nomfa);
//! 2. `--taps M` challenge round trips (user jerry, role access-prod with
//!    per-session MFA): the agent's challenge arrives in the conversation,
//!    which signs it with a software P-256 WebAuthn key (fixed seed, counter
//!    counting up) and answers; the agent verifies and allows.
//!
//! The agent's resident memory (`VmRSS`) and open descriptors (`/proc/PID/fd`)
//! are sampled before anything, after a warm-up, `--samples` times during
//! each phase, and at the end. Prints a Markdown section on stdout.
//!
//! ```text
//! pam-mfa-soak --bin-dir target/release --bundle config/examples/bundle.yaml \
//!              [--decisions 1000000] [--taps 100000] [--samples 10]
//! ```

use std::cell::Cell;
use std::ffi::{c_int, c_void, CStr, CString};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use mfa_agent::challenge::find_challenge;
use mfa_agent::verify::webauthn::{client_data_hash, encode_answer};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use pam_mfa_e2e::bench_agent::{flag_values, BenchAgent};
use pam_mfa_e2e::pam_ffi::*;
use sha2::{Digest, Sha256};

const RP_ID: &str = "example.com";
const CREDENTIAL_ID: &[u8] = b"pam-mfa-soak-credential";

/// What the example bundle lacks for a soak: a user who needs no tap on
/// prod, and a WebAuthn credential for jerry.
fn extra_documents(cose_b64: &str) -> String {
    let cred = base64::engine::general_purpose::STANDARD.encode(CREDENTIAL_ID);
    format!(
        "---\nkind: role\nversion: v7\nmetadata: {{name: ops-nomfa}}\nspec:\n  allow:\n    \
         logins: [sam]\n    node_labels: {{env: prod}}\n---\nkind: user\nversion: v2\n\
         metadata: {{name: sam}}\nspec:\n  roles: [ops-nomfa]\n---\nkind: mfa_device\n\
         version: v1\nmetadata: {{name: jerry-soak-webauthn}}\nspec:\n  user: jerry\n  \
         webauthn:\n    credential_id: {cred}\n    public_key_cbor: {cose_b64}\n"
    )
}

struct Args {
    bin_dir: PathBuf,
    bundle: PathBuf,
    decisions: u64,
    taps: u64,
    samples: u64,
}

fn parse_args() -> Args {
    let mut a = Args {
        bin_dir: PathBuf::from("target/release"),
        bundle: PathBuf::from("config/examples/bundle.yaml"),
        decisions: 1_000_000,
        taps: 100_000,
        samples: 10,
    };
    for (k, v) in flag_values() {
        let num = || v.parse::<u64>().unwrap_or_else(|_| panic!("{k} N"));
        match k.as_str() {
            "--bin-dir" => a.bin_dir = v.clone().into(),
            "--bundle" => a.bundle = v.clone().into(),
            "--decisions" => a.decisions = num(),
            "--taps" => a.taps = num(),
            "--samples" => a.samples = num().max(1),
            _ => panic!("unknown argument {k}"),
        }
    }
    a
}

/// The software authenticator: a fixed P-256 key and its counter.
struct SoftKey {
    key: SigningKey,
    counter: Cell<u32>,
}

impl SoftKey {
    fn new() -> SoftKey {
        let key = SigningKey::from_bytes(&[0x5a; 32].into()).expect("a valid scalar");
        SoftKey {
            key,
            counter: Cell::new(0),
        }
    }

    /// The COSE_Key (EC2, ES256, P-256) of the public key, base64.
    fn cose_b64(&self) -> String {
        let point = self.key.verifying_key().to_encoded_point(false);
        let (x, y) = (point.x().expect("x"), point.y().expect("y"));
        let mut cbor = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20];
        cbor.extend_from_slice(x);
        cbor.extend_from_slice(&[0x22, 0x58, 0x20]);
        cbor.extend_from_slice(y);
        base64::engine::general_purpose::STANDARD.encode(cbor)
    }

    /// The answer line for `challenge`: UP and UV set, the counter one up.
    fn answer(&self, challenge: &str) -> String {
        self.counter.set(self.counter.get() + 1);
        let mut auth_data = Sha256::digest(RP_ID.as_bytes()).to_vec();
        auth_data.push(0x05);
        auth_data.extend_from_slice(&self.counter.get().to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&client_data_hash(challenge, RP_ID));
        let sig: Signature = self.key.sign(&signed);
        encode_answer(CREDENTIAL_ID, &auth_data, sig.to_der().as_bytes())
    }
}

/// Answers the agent's challenge prompt with the soft key; info and error
/// messages get an empty reply.
extern "C" fn tap_conversation(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata_ptr: *mut c_void,
) -> c_int {
    std::panic::catch_unwind(|| converse(num_msg, msg, resp, appdata_ptr)).unwrap_or(PAM_CONV_ERR)
}

fn converse(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata_ptr: *mut c_void,
) -> c_int {
    if appdata_ptr.is_null() {
        return PAM_CONV_ERR;
    }
    // SAFETY: appdata_ptr is the SoftKey main() passed in PamConv; it outlives
    // the handle, and PAM calls the conversation from this thread only.
    let key = unsafe { &*appdata_ptr.cast::<SoftKey>() };
    let answer = |style, text: &str| {
        let challenge = (style == PAM_PROMPT_ECHO_ON)
            .then(|| find_challenge(text))
            .flatten();
        Ok(challenge.map(|c| key.answer(&c.text)))
    };
    // SAFETY: the arguments are Linux-PAM's, passed on unchanged.
    unsafe { converse_each(num_msg, msg, resp, answer) }
}

fn start_agent(args: &Args, key: &SoftKey) -> BenchAgent {
    let dir = std::env::temp_dir().join(format!("pam-mfa-soak-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("state")).unwrap();
    let mut bundle = std::fs::read_to_string(&args.bundle).expect("the bundle");
    bundle.push_str(&extra_documents(&key.cose_b64()));
    std::fs::write(dir.join("bundle.yaml"), bundle).unwrap();
    let cfg = format!(
        "node:\n  name: prod3\n  labels: {{ env: prod }}\ncluster:\n  source: file://{d}/bundle.yaml\n  \
         state_dir: {d}/state\nsocket:\n  path: {d}/agent.sock\naudit:\n  sink: stderr\n",
        d = dir.display()
    );
    BenchAgent::start(&args.bin_dir, dir, &cfg)
}

/// (VmRSS in KiB, open descriptors) of `pid`.
fn sample(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the agent runs");
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    (rss, fds)
}

/// One login through pam_mfa.so, a fresh handle as sshd uses.
fn login(confdir: &CStr, user: &CStr, key: &SoftKey) -> c_int {
    let conv = PamConv {
        conv: tap_conversation,
        appdata_ptr: (key as *const SoftKey).cast_mut().cast(),
    };
    let svc = c"sshd";
    let mut h: *mut PamHandle = std::ptr::null_mut();
    // SAFETY: valid NUL-terminated strings, a PamConv that lives for the call.
    let rc =
        unsafe { pam_start_confdir(svc.as_ptr(), user.as_ptr(), &conv, confdir.as_ptr(), &mut h) };
    assert_eq!(rc, PAM_SUCCESS, "pam_start_confdir");
    // SAFETY: h is live; the strings are NUL-terminated and copied by PAM.
    unsafe { pam_set_item(h, PAM_RHOST, c"127.0.0.1".as_ptr().cast()) };
    // SAFETY: h is a live handle.
    let rc = unsafe { pam_authenticate(h, 0) };
    // SAFETY: h is live and ended exactly once.
    unsafe { pam_end(h, rc) };
    rc
}

struct Phase<'a> {
    name: &'a str,
    user: &'a CStr,
    count: u64,
}

/// Runs a phase; returns the samples at its middle and at its end.
fn run_phase(
    p: &Phase,
    confdir: &CStr,
    key: &SoftKey,
    pid: u32,
    samples: u64,
) -> ((u64, usize), (u64, usize)) {
    let every = (p.count / samples).max(1);
    let start = Instant::now();
    let mut mid = sample(pid);
    for i in 1..=p.count {
        let rc = login(confdir, p.user, key);
        assert_eq!(rc, PAM_SUCCESS, "{} login {i} failed: {rc}", p.name);
        if i % every == 0 || i == p.count {
            let now = sample(pid);
            row(p.name, i, start.elapsed(), now);
            if i <= p.count / 2 {
                mid = now;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!("{}: {} logins in {secs:.0} s", p.name, p.count);
    (mid, sample(pid))
}

fn row(phase: &str, done: u64, t: Duration, (rss, fds): (u64, usize)) {
    println!(
        "| {phase} | {done} | {:.0} | {rss} | {fds} |",
        t.as_secs_f64()
    );
}

fn main() {
    let args = parse_args();
    let key = SoftKey::new();
    let agent = start_agent(&args, &key);
    let pid = agent.child.id();
    let module = std::fs::canonicalize(args.bin_dir.join("libpam_mfa.so")).expect("libpam_mfa.so");
    let confdir = agent.dir.join("pam.d");
    std::fs::create_dir_all(&confdir).unwrap();
    let line = format!(
        "auth required {} socket={} timeout=10\n",
        module.display(),
        agent.socket().display()
    );
    std::fs::write(confdir.join("sshd"), line).unwrap();
    let confdir = CString::new(confdir.to_str().unwrap()).unwrap();
    let (sam, jerry) = (c"sam", c"jerry");

    println!("| phase | logins done | seconds | agent VmRSS (KiB) | agent open fds |");
    println!("|---|---|---|---|---|");
    row("fresh agent", 0, Duration::ZERO, sample(pid));
    let warm = |name: &str, user: &CStr, n: u64| {
        let p = Phase {
            name,
            user,
            count: n,
        };
        run_phase(&p, &confdir, &key, pid, 1);
    };
    warm("warm-up, no tap", sam, 2_000.min(args.decisions));
    warm("warm-up, tap", jerry, 200.min(args.taps));
    let base = sample(pid);
    let phases = [
        Phase {
            name: "no-tap decisions",
            user: sam,
            count: args.decisions,
        },
        Phase {
            name: "challenge round trips",
            user: jerry,
            count: args.taps,
        },
    ];
    // A leak grows all along a phase; a bounded table (grants, the reuse
    // cache) fills up and stops. So each phase's second half must be flat:
    // under 1 % or 1 MiB more resident memory; descriptors as after the
    // warm-up (one more may be a connection still closing when sampled).
    let mut flat = true;
    for p in phases.iter().filter(|p| p.count > 0) {
        let (mid, end) = run_phase(p, &confdir, &key, pid, args.samples);
        flat &= end.0 <= mid.0 + (mid.0 / 100).max(1024) && end.1 <= base.1 + 1;
    }
    // Idle a little, so that timers (challenge expiry, grants) have run.
    std::thread::sleep(Duration::from_secs(2));
    let end = sample(pid);
    flat &= end.1 <= base.1 + 1;
    row("end (2 s idle)", 0, Duration::ZERO, end);
    println!();
    println!(
        "Verdict: {}. After the warm-up: {} KiB resident, {} descriptors. At the end: {} KiB ({:+} KiB), {} descriptors ({:+}).",
        if flat { "flat" } else { "NOT flat" },
        base.0,
        base.1,
        end.0,
        end.0 as i64 - base.0 as i64,
        end.1,
        end.1 as i64 - base.1 as i64
    );
}

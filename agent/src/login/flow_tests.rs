//! The decision flow in-process, with an injected clock: evidence from
//! SSH_AUTH_INFO_0, served verify-required lines, the reuse window, locks.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use pam_mfa_protocol::{PamContext, PamHook, ResponseBody};

use super::conversation::{answer, cancel};
use super::flow::handle_begin;
use super::served_lines::lines_for_login;
use super::tap::Step;
use super::verdict::PeerIds;
use crate::audit::AuditSink;
use crate::challenge::find_challenge;
use crate::config::AgentConfig;
use crate::policy::load_bundle_str;
use crate::state::AgentState;

const BLOB: &str = "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo=";
const OTHER_BLOB: &str = "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAICAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo=";
const SK: &str = "sk-ssh-ed25519@openssh.com";

fn bundle(require: &str, extra: &str) -> String {
    format!(
        "kind: role\nversion: v7\nmetadata: {{name: prod}}\nspec:\n  allow:\n    logins: ['{{{{internal.logins}}}}']\n    node_labels: {{env: prod}}\n  options:\n    require_session_mfa: {require}\n---\n\
         kind: user\nversion: v2\nmetadata: {{name: alice}}\nspec:\n  roles: [prod]\n  traits:\n    logins: [root]\n---\n\
         kind: mfa_device\nversion: v1\nmetadata: {{name: alice-key}}\nspec:\n  user: alice\n  ssh_sk:\n    public_key: \"{SK} {BLOB} alice@laptop\"\n{extra}"
    )
}

pub(super) struct Fixture {
    pub(super) state: AgentState,
    now: Arc<Mutex<SystemTime>>,
}

impl Fixture {
    pub(super) fn new(policy: &str, extra_config: &str) -> Fixture {
        Fixture::with_sshd_options(policy, extra_config, "")
    }

    fn with_sshd_options(policy: &str, extra_config: &str, pubkey_auth_options: &str) -> Fixture {
        // The login is root: it exists on every machine, and has a home
        // directory whose authorized_keys does not list these made-up keys.
        let cfg = AgentConfig::parse(
            &format!(
                "node:\n  name: prod3\n  labels: {{env: prod}}\nsshd:\n  authorized_keys_files: []\n  pubkey_auth_options: [{pubkey_auth_options}]\n{extra_config}"
            ),
            "test",
        )
        .unwrap();
        let now = Arc::new(Mutex::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        ));
        let n = Arc::clone(&now);
        let state =
            AgentState::new(cfg, AuditSink::Stderr, Arc::new(move || *n.lock().unwrap())).unwrap();
        state.store.install(
            load_bundle_str(policy, "test.yaml").unwrap(),
            SystemTime::now(),
        );
        Fixture { state, now }
    }

    /// The account hook: decides from the evidence at hand, never prompts.
    pub(super) fn login(&self, auth_info: Option<&str>, rhost: &str) -> ResponseBody {
        match self.begin(PamHook::Account, auth_info, rhost) {
            Step::Done(body) => body,
            Step::Ask(..) => panic!("the account hook never prompts"),
        }
    }

    pub(super) fn begin(&self, hook: PamHook, auth_info: Option<&str>, rhost: &str) -> Step {
        let ctx = PamContext {
            service: "sshd".into(),
            user: "root".into(),
            rhost: Some(rhost.into()),
            ssh_auth_info: auth_info.map(Into::into),
            ..Default::default()
        };
        handle_begin(&self.state, PeerIds { pid: 1, uid: 0 }, hook, &ctx)
    }

    /// What sshd's AuthorizedKeysCommand call does before the login: the
    /// agent serves (and remembers) the registered keys for `root`.
    fn serve_keys(&self) {
        let bundle = self.state.store.current().unwrap();
        for l in lines_for_login(&bundle, &self.state.node, "root", self.state.now()) {
            self.state
                .served_keys
                .record("root", &l.key_type, &l.blob, l.verify_required);
        }
    }

    fn advance(&self, d: Duration) {
        *self.now.lock().unwrap() += d;
    }
}

fn sk_info(blob: &str) -> String {
    format!("publickey {SK} {blob}\n")
}

fn denied_with(r: &ResponseBody, words: &str) {
    match r {
        ResponseBody::Deny { message } => {
            assert!(message.contains(words), "{message:?} lacks {words:?}")
        }
        other => panic!("expected a denial mentioning {words:?}, got {other:?}"),
    }
}

pub(super) const ALLOW: ResponseBody = ResponseBody::Allow { message: None };

#[test]
fn touched_registered_key_satisfies_session_mfa() {
    let f = Fixture::new(&bundle("true", ""), "");
    // A key sshd accepted without pam-mfa serving it: nothing shows a touch.
    denied_with(&f.login(Some(&sk_info(BLOB)), "10.0.0.1"), "touch");
    f.serve_keys();
    assert_eq!(f.login(Some(&sk_info(BLOB)), "10.0.0.1"), ALLOW);
    denied_with(
        &f.login(
            Some("publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==\n"),
            "10.0.0.1",
        ),
        "instead of a plain key",
    );
    denied_with(&f.login(None, "10.0.0.1"), "requires MFA (session)");
    denied_with(
        &f.login(Some(&sk_info(OTHER_BLOB)), "10.0.0.1"),
        "not registered",
    );
}

#[test]
fn pin_needs_a_served_verify_required_line() {
    let f = Fixture::new(&bundle("hardware_key_pin", ""), "");
    denied_with(&f.login(Some(&sk_info(BLOB)), "10.0.0.1"), "PIN");
    // sshd asks for keys: the agent serves verify-required and remembers it.
    let lines = lines_for_login(
        &f.state.store.current().unwrap(),
        &f.state.node,
        "root",
        f.state.now(),
    );
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].line.starts_with("verify-required "),
        "{}",
        lines[0].line
    );
    for l in &lines {
        f.state
            .served_keys
            .record("root", &l.key_type, &l.blob, l.verify_required);
    }
    assert_eq!(f.login(Some(&sk_info(BLOB)), "10.0.0.1"), ALLOW);
}

#[test]
fn global_pubkey_auth_options_count_as_verified() {
    let f = Fixture::new(&bundle("hardware_key_touch_and_pin", ""), "");
    denied_with(
        &f.login(Some(&sk_info(BLOB)), "10.0.0.1"),
        "hardware_key_touch_and_pin",
    );
    let g = Fixture::with_sshd_options(
        &bundle("hardware_key_touch_and_pin", ""),
        "",
        "touch-required, verify-required",
    );
    assert_eq!(g.login(Some(&sk_info(BLOB)), "10.0.0.1"), ALLOW);
}

#[test]
fn reuse_window_serves_the_same_user_login_and_source() {
    let off = Fixture::new(&bundle("true", ""), "");
    off.serve_keys();
    assert_eq!(off.login(Some(&sk_info(BLOB)), "10.0.0.1"), ALLOW);
    denied_with(&off.login(None, "10.0.0.1"), "requires MFA");

    let f = Fixture::new(&bundle("true", ""), "reuse_window: 2m\n");
    f.serve_keys();
    denied_with(&f.login(None, "10.0.0.1"), "requires MFA");
    assert_eq!(f.login(Some(&sk_info(BLOB)), "10.0.0.1"), ALLOW);
    f.advance(Duration::from_secs(90));
    assert_eq!(f.login(None, "10.0.0.1"), ALLOW, "within the window");
    denied_with(&f.login(None, "10.0.0.2"), "requires MFA");
    f.advance(Duration::from_secs(31));
    denied_with(&f.login(None, "10.0.0.1"), "requires MFA");
}

#[test]
fn locks_and_unknown_users() {
    let lock = "---\nkind: lock\nversion: v2\nmetadata: {name: l1}\nspec:\n  target: {mfa_device: alice-key}\n  message: lost key\n";
    let f = Fixture::new(&bundle("true", lock), "");
    denied_with(&f.login(Some(&sk_info(BLOB)), "10.0.0.1"), "lost key");
    // A login nobody maps to gets the cap's requirement (off here).
    let g = Fixture::new(
        &bundle("true", "").replace("logins: [root]", "logins: [alice]"),
        "",
    );
    assert_eq!(g.login(None, "10.0.0.1"), ALLOW);
    let strict_cap = "---\nkind: cluster_auth_preference\nversion: v2\nmetadata: {name: cluster-auth-preference}\nspec:\n  require_session_mfa: true\n";
    let h = Fixture::new(
        &bundle("true", strict_cap).replace("logins: [root]", "logins: [alice]"),
        "",
    );
    denied_with(&h.login(None, "10.0.0.1"), "not a cluster user");
}

#[test]
fn no_policy_follows_the_agent_fail_mode() {
    let f = Fixture::new(&bundle("true", ""), "");
    let empty = AgentState::new(
        f.state.config.clone(),
        AuditSink::Stderr,
        Arc::new(SystemTime::now),
    )
    .unwrap();
    let ctx = PamContext {
        service: "sshd".into(),
        user: "root".into(),
        ..Default::default()
    };
    assert!(matches!(
        handle_begin(&empty, PeerIds { pid: 1, uid: 0 }, PamHook::Auth, &ctx),
        Step::Done(ResponseBody::Deny { .. })
    ));
}

pub(super) fn prompt_text(body: &ResponseBody) -> String {
    match body {
        ResponseBody::Prompt { prompts } => prompts
            .iter()
            .map(|p| p.text.clone())
            .collect::<Vec<_>>()
            .join("\n"),
        other => panic!("expected a prompt, got {other:?}"),
    }
}

#[test]
fn auth_without_evidence_gets_a_challenge_and_limited_tries() {
    let f = Fixture::new(&bundle("true", ""), "challenge:\n  tries: 2\n");
    let Step::Ask(conv, prompt) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
        panic!("expected a challenge")
    };
    let first = find_challenge(&prompt_text(&prompt)).expect("the prompt carries a challenge");
    assert_eq!(
        (first.node.as_str(), first.login.as_str()),
        ("prod3", "root")
    );
    // A wrong answer: a fresh challenge and the reason, one try fewer.
    let Step::Ask(conv, again) = answer(&f.state, conv, &["hello".into()]) else {
        panic!("a second try")
    };
    let text = prompt_text(&again);
    assert!(
        text.contains("not a pam-mfa answer") && text.contains("1 left"),
        "{text}"
    );
    assert_ne!(
        find_challenge(&text).unwrap().text,
        first.text,
        "every try gets a new challenge"
    );
    // A key that is not registered: the last try is used up.
    let foreign = format!(
        "sk1.{}.AAAA",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, [9u8; 32])
    );
    match answer(&f.state, conv, &[foreign]) {
        Step::Done(ResponseBody::Deny { message }) => assert!(
            message.contains("not registered") && message.contains("no tries left"),
            "{message}"
        ),
        _ => panic!("out of tries must deny"),
    }
}

#[test]
fn expired_challenges_and_cancel_are_refused() {
    let f = Fixture::new(&bundle("true", ""), "challenge:\n  ttl: 30s\n  tries: 1\n");
    let Step::Ask(conv, _) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
        panic!()
    };
    f.advance(Duration::from_secs(31));
    match answer(&f.state, conv, &["sk1.x.y".into()]) {
        Step::Done(ResponseBody::Deny { message }) => {
            assert!(message.contains("expired"), "{message}")
        }
        _ => panic!("an expired challenge must deny"),
    }
    let Step::Ask(conv, _) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
        panic!()
    };
    assert!(matches!(cancel(&f.state, conv), ResponseBody::Deny { .. }));
}

#[test]
fn no_registered_key_means_no_challenge() {
    let policy = bundle("true", "").replace("kind: mfa_device", "kind: mfa_device_disabled");
    let f = Fixture::new(&policy, "");
    match f.begin(PamHook::Auth, None, "10.0.0.1") {
        Step::Done(ResponseBody::Deny { message }) => {
            assert!(message.contains("no registered security key"), "{message}")
        }
        _ => panic!("nothing to challenge"),
    }
}

#[test]
fn non_root_peers_cannot_claim_ssh_evidence() {
    // A process running as the user asks about itself with a forged
    // SSH_AUTH_INFO_0 naming the user's (public) registered key.
    let f = Fixture::new(&bundle("true", ""), "reuse_window: 2m\n");
    f.serve_keys();
    let ctx = PamContext {
        service: "sshd".into(),
        user: "root".into(),
        rhost: Some("10.0.0.9".into()),
        ssh_auth_info: Some(sk_info(BLOB)),
        ..Default::default()
    };
    match handle_begin(
        &f.state,
        PeerIds { pid: 1, uid: 1000 },
        PamHook::Account,
        &ctx,
    ) {
        Step::Done(ResponseBody::Deny { .. }) => {}
        _ => panic!("a non-root peer's SSH_AUTH_INFO_0 is not evidence"),
    }
    // ...and it left nothing for the reuse window.
    let mut real = ctx.clone();
    real.ssh_auth_info = None;
    match handle_begin(
        &f.state,
        PeerIds { pid: 1, uid: 0 },
        PamHook::Account,
        &real,
    ) {
        Step::Done(ResponseBody::Deny { .. }) => {}
        _ => panic!("no reuse from a forged claim"),
    }
}

#[test]
fn a_locked_device_cannot_answer() {
    let lock = "---\nkind: lock\nversion: v2\nmetadata: {name: l1}\nspec:\n  target: {mfa_device: alice-key}\n";
    let f = Fixture::new(&bundle("true", lock), "");
    match f.begin(PamHook::Auth, None, "10.0.0.1") {
        Step::Done(ResponseBody::Deny { message }) => {
            assert!(message.contains("no registered security key"), "{message}")
        }
        _ => panic!("the only key is locked: nothing to challenge"),
    }
}

/// A `piv` mfa_device for `user` holding `m`'s chain.
pub(super) fn piv_device(name: &str, user: &str, m: &crate::piv::tests::chain::Minted) -> String {
    format!(
        "---\nkind: mfa_device\nversion: v1\nmetadata: {{name: {name}}}\nspec:\n  user: {user}\n  piv:\n    slot: 9c\n    attestation_chain: {}\n",
        crate::piv::tests::device::yaml_pem_list(&m.chain_pem())
    )
}

/// A fixture whose agent.yaml's `piv:` trusts the roots of `minted` (files
/// in a temporary directory, removed once the agent has read them).
pub(super) fn piv_fixture(
    policy: &str,
    extra_config: &str,
    tag: &str,
    minted: &[&crate::piv::tests::chain::Minted],
) -> Fixture {
    let dir = std::env::temp_dir().join(format!("pam-mfa-pivtap-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<String> = minted
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let p = dir.join(format!("root{i}.pem"));
            std::fs::write(&p, m.root.cert.pem()).unwrap();
            format!("\"{}\"", p.display())
        })
        .collect();
    let f = Fixture::new(
        policy,
        &format!(
            "{extra_config}piv:\n  include_yubico_roots: false\n  attestation_roots: [{}]\n",
            files.join(", ")
        ),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    f
}

pub(super) fn piv_answer(
    card: &mut crate::piv::tests::fake_card::FakeCard,
    prompt: &ResponseBody,
) -> String {
    struct Pin(Vec<String>);
    impl crate::ctl::tap::Terminal for Pin {
        fn say(&mut self, text: &str) -> Result<(), String> {
            self.0.push(text.into());
            Ok(())
        }
        fn ask_hidden(&mut self, _: &str) -> Result<zeroize::Zeroizing<String>, String> {
            Ok(zeroize::Zeroizing::new("123456".into()))
        }
    }
    let text = prompt_text(prompt);
    let c = find_challenge(&text).unwrap();
    let slots = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("piv="))
        .expect("the prompt names the PIV slots");
    crate::ctl::tap::answer_with_piv(card, &c, slots, &mut Pin(Vec::new())).unwrap()
}

#[test]
fn piv_taps_verify_against_the_attested_key() {
    use crate::piv::tests::chain::{Minted, Slot};
    use crate::piv::tests::fake_card::FakeCard;
    let touch_pin = Slot {
        pin: 2,
        touch: 2,
        ..Default::default()
    };
    let alice = Minted::new(&touch_pin);
    let bob = Minted::new(&touch_pin);
    let untrusted = Minted::new(&touch_pin);
    let unregistered = Minted::new(&touch_pin);
    let extra = format!(
        "{}{}{}",
        piv_device("alice-piv", "alice", &alice),
        piv_device("bob-piv", "bob", &bob),
        piv_device("alice-untrusted", "alice", &untrusted),
    );
    let f = piv_fixture(
        &bundle("true", &extra),
        "challenge:\n  tries: 10\n",
        "verify",
        &[&alice, &bob, &unregistered],
    );
    let Step::Ask(conv, prompt) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
        panic!("expected a challenge")
    };
    assert!(
        prompt_text(&prompt).contains(" piv=9c answers=named answer: "),
        "{}",
        prompt_text(&prompt)
    );
    // Another user's key, a key nobody registered, one whose chain is not
    // trusted (left out: the agent never takes its public key): refused.
    let mut conv = conv;
    let mut prompt = prompt;
    for (minted, why) in [
        (&bob, "not registered for alice"),
        (&unregistered, "not registered for alice"),
        (&untrusted, "not registered for alice"),
    ] {
        let line = piv_answer(&mut FakeCard::new(minted, &touch_pin), &prompt);
        let Step::Ask(c, p) = answer(&f.state, conv, &[line]) else {
            panic!("a refused answer asks again")
        };
        assert!(prompt_text(&p).contains(why), "{}", prompt_text(&p));
        (conv, prompt) = (c, p);
    }
    // Malformed.
    let Step::Ask(conv, p) = answer(&f.state, conv, &["pv1.AAAA.BBBB".into()]) else {
        panic!()
    };
    assert!(
        prompt_text(&p).contains("not 8 bytes"),
        "{}",
        prompt_text(&p)
    );
    // Alice's card signs the current challenge: allowed.
    let mut card = FakeCard::new(&alice, &touch_pin);
    let line = piv_answer(&mut card, &p);
    // An answer to an earlier challenge of the same login is not good now:
    // that challenge had its answer.
    let stale = piv_answer(&mut card, &prompt);
    let Step::Ask(conv, p2) = answer(&f.state, conv, &[stale]) else {
        panic!()
    };
    assert!(
        prompt_text(&p2).contains("already used"),
        "{}",
        prompt_text(&p2)
    );
    // The answer to the challenge before the refusal is stale as well: every
    // try has its own challenge.
    let Step::Ask(mut conv, mut p3) = answer(&f.state, conv, std::slice::from_ref(&line)) else {
        panic!()
    };
    assert!(
        prompt_text(&p3).contains("already used"),
        "{}",
        prompt_text(&p3)
    );
    // Signed for another login or node, and saying so: refused as such.
    let c3 = find_challenge(&prompt_text(&p3)).unwrap();
    for (node, login, why) in [
        ("prod3", "bob", "to prod3 as bob, not to prod3 as root"),
        ("prod4", "root", "to prod4 as root, not to prod3 as root"),
    ] {
        let other = c3.text.replace(
            &format!("{}:{}:", c3.node, c3.login),
            &format!("{node}:{login}:"),
        );
        let other_prompt = ResponseBody::Prompt {
            prompts: vec![pam_mfa_protocol::Prompt {
                style: pam_mfa_protocol::PromptStyle::EchoOn,
                text: format!("MFA challenge {other} piv=9c answer: "),
            }],
        };
        let signed = piv_answer(&mut card, &other_prompt);
        let claimed = crate::challenge::with_claim(&signed, &other);
        let Step::Ask(conv2, p4) = answer(&f.state, conv, &[claimed]) else {
            panic!()
        };
        assert!(prompt_text(&p4).contains(why), "{}", prompt_text(&p4));
        conv = conv2;
        p3 = p4;
    }
    let fresh = piv_answer(&mut card, &p3);
    match answer(&f.state, conv, std::slice::from_ref(&fresh)) {
        Step::Done(r) => assert_eq!(r, ALLOW),
        Step::Ask(_, p) => panic!("{}", prompt_text(&p)),
    }
    // Replayed on the next login: refused as already used.
    let Step::Ask(conv, _) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
        panic!()
    };
    let Step::Ask(_, p) = answer(&f.state, conv, &[fresh]) else {
        panic!()
    };
    assert!(
        prompt_text(&p).contains("already used"),
        "{}",
        prompt_text(&p)
    );
}

#[test]
fn piv_tap_class_comes_from_the_attestation() {
    use crate::piv::tests::chain::{Minted, Slot};
    use crate::piv::tests::fake_card::FakeCard;
    // Touch always and no PIN, or a PIN and no touch: MFA for the session.
    for (pin, touch) in [(1, 2), (2, 1), (3, 3)] {
        let s = Slot {
            pin,
            touch,
            ..Default::default()
        };
        let m = Minted::new(&s);
        let f = piv_fixture(
            &bundle("true", &piv_device("alice-piv", "alice", &m)),
            "",
            &format!("class{pin}{touch}"),
            &[&m],
        );
        let Step::Ask(conv, prompt) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
            panic!()
        };
        let line = piv_answer(&mut FakeCard::new(&m, &s), &prompt);
        match answer(&f.state, conv, &[line]) {
            Step::Done(r) => assert_eq!(r, ALLOW, "pin {pin} touch {touch}"),
            Step::Ask(_, p) => panic!("{}", prompt_text(&p)),
        }
    }
    // Neither touch nor PIN: not MFA for the session.
    let plain = Slot {
        pin: 1,
        touch: 1,
        ..Default::default()
    };
    let m = Minted::new(&plain);
    let f = piv_fixture(
        &bundle("true", &piv_device("alice-piv", "alice", &m)),
        "",
        "plain",
        &[&m],
    );
    let Step::Ask(conv, prompt) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
        panic!()
    };
    let line = piv_answer(&mut FakeCard::new(&m, &plain), &prompt);
    let Step::Ask(_, p) = answer(&f.state, conv, &[line]) else {
        panic!()
    };
    let t = prompt_text(&p);
    assert!(
        t.contains("requires MFA for the session") && t.contains("attested hardware_key "),
        "{t}"
    );
}

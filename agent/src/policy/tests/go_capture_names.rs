//! Go capture-group names the `regex` crate would refuse, in a whole
//! policy: a name that starts with a digit (Go's src/regexp/syntax/parse.go
//! `isValidCaptureName` accepts `[A-Za-z0-9_]+`) and a name on two groups.
//! Teleport compiles and uses both: node labels through
//! lib/services/role.go `MatchLabelGetter` -> `utils.SliceMatchesRegex`,
//! `regexp.replace` in a login through lib/utils/parse/parse.go
//! `RegexpReplace` (Go's `ReplaceAllString`, `$1a` the group named `1a`).

use super::support::{bundle, cap, node, summary, Ask};

const ALICE: &str = "---
kind: user
version: v2
metadata: {name: alice}
spec: {roles: [ops], traits: {team: [abc]}}
";

/// The reviewed policy: allow node_labels and a login template, each with
/// a group named `1a`.
fn allow_policy() -> String {
    cap("  {type: local, second_factor: \"on\", webauthn: {rp_id: example.com}, require_session_mfa: false}")
        + "---
kind: role
version: v7
metadata: {name: ops}
spec:
  allow:
    logins: ['x{{regexp.replace(external.team, \"(?P<1a>b)\", \"[$1a]\")}}', admin]
    node_labels: {role: '^(?P<1a>worker)$'}
"
        + ALICE
}

#[test]
fn digit_leading_group_names_allow_as_teleport() {
    let b = bundle(&allow_policy());
    let worker = node("n1", &[("role", "worker")]);
    let db = node("n2", &[("role", "db")]);
    for login in ["admin", "xa[b]c"] {
        let d = Ask::new(&worker, login).user("alice").decide(&b);
        assert_eq!(summary(&d), "allow off [ops]", "{login}: {:?}", d.reasons);
        let d = Ask::new(&db, login).user("alice").decide(&b);
        assert_eq!(summary(&d), "deny off []", "{login} on db: {:?}", d.reasons);
    }
    let d = Ask::new(&worker, "xabc").user("alice").decide(&b);
    assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
}

/// A deny node_labels with such names denies only the nodes it matches
/// (it denied every node with the label while the regex was "invalid").
#[test]
fn digit_leading_and_repeated_group_names_deny_only_what_they_match() {
    let policy = allow_policy().replace(
        "    node_labels: {role: '^(?P<1a>worker)$'}\n",
        "    node_labels: {role: '*'}\n  deny:\n    node_labels: {role: '^(?P<9>db)|(?P<9>cache)$'}\n",
    );
    let b = bundle(&policy);
    for (role, want) in [
        ("worker", "allow off [ops]"),
        ("db", "deny off []"),
        ("cache", "deny off []"),
    ] {
        let n = node("n1", &[("role", role)]);
        let d = Ask::new(&n, "admin").user("alice").decide(&b);
        assert_eq!(summary(&d), want, "{role}: {:?}", d.reasons);
    }
}

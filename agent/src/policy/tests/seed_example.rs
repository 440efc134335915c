//! The per-session MFA guide's example (seeds 000/001): Jerry, access-dev and
//! access-prod, nodes dev1 (env: dev) and prod3 (env: prod).

use super::support::{bundle, node, summary, Ask};
use crate::policy::{load_bundle_path, Bundle, NodeInfo, RequireMfa};

/// The guide's roles, as written there (v7, the login listed literally).
const GUIDE: &str = "\
# access-dev.yaml
kind: role
version: v7
metadata:
  name: access-dev
spec:
  allow:
    node_labels:
      env: dev
    logins:
      - jerry
---
# access-prod.yaml
kind: role
version: v7
metadata:
  name: access-prod
spec:
  options:
    # require per-session MFA for production access
    require_session_mfa: true
  allow:
    node_labels:
      env: prod
    logins:
      - jerry
  deny: {}
";

/// The brief's version: trait logins, access-dev explicitly off, user jerry.
const WITH_TRAITS: &str = "\
kind: role
version: v7
metadata: {name: access-dev}
spec:
  options: {require_session_mfa: false}
  allow:
    node_labels: {env: dev}
    logins: ['{{internal.logins}}']
---
kind: role
version: v7
metadata: {name: access-prod}
spec:
  options: {require_session_mfa: true}
  allow:
    node_labels: {env: prod}
    logins: ['{{internal.logins}}']
---
kind: user
version: v2
metadata: {name: jerry}
spec:
  roles: [access-dev, access-prod]
  traits: {logins: [jerry]}
";

const CAP_ON: &str = "\
---
kind: cluster_auth_preference
metadata:
  name: cluster-auth-preference
spec:
  require_session_mfa: true
version: v2
";

fn dev1() -> NodeInfo {
    node("dev1", &[("env", "dev")])
}

fn prod3() -> NodeInfo {
    node("prod3", &[("env", "prod")])
}

/// The seed decisions, for a bundle with jerry in it.
fn assert_seed_decisions(b: &Bundle) {
    let (dev1, prod3) = (dev1(), prod3());
    let cases = [
        (&dev1, "jerry", "allow off [access-dev]"),
        (&prod3, "jerry", "allow session [access-prod]"),
        (&prod3, "root", "deny off []"),
        (&dev1, "root", "deny off []"),
    ];
    for (n, login, want) in cases {
        let d = Ask::new(n, login).user("jerry").decide(b);
        assert_eq!(summary(&d), want, "{login}@{}: {:?}", n.name, d.reasons);
    }
    // jerry found from his login.
    let d = Ask::new(&prod3, "jerry").decide(b);
    assert_eq!((d.user.as_deref(), d.known_user), (Some("jerry"), true));
    assert!(
        d.reasons.contains(&"role access-prod allows login jerry on prod3 (node_labels env=prod matched) and requires session MFA".to_owned()),
        "{:?}",
        d.reasons
    );
    assert!(d
        .reasons
        .contains(&"cluster_auth_preference require_session_mfa is off".to_owned()));
    let d = Ask::new(&prod3, "root").user("jerry").decide(b);
    assert_eq!(
        d.reasons.last().unwrap(),
        "no role of jerry allows login root on prod3 (access-dev: node_labels env=dev did not match: the node has env=prod; access-prod: login root is not in its logins [jerry])"
    );
    // Olga wrote the roles; she is not a cluster user of this bundle: her
    // login is not a cluster login, so only the cluster's requirement applies.
    let d = Ask::new(&prod3, "olga").decide(b);
    assert_eq!(
        (summary(&d), d.known_user),
        ("allow off []".to_owned(), false)
    );
}

#[test]
fn guide_roles_as_written() {
    let text = GUIDE.to_owned()
        + "---\nkind: user\nversion: v2\nmetadata: {name: jerry}\nspec: {roles: [access-dev, access-prod]}\n";
    let b = bundle(&text);
    assert_eq!(b.roles()["access-dev"].require_session_mfa, RequireMfa::Off);
    assert_eq!(
        b.roles()["access-prod"].require_session_mfa,
        RequireMfa::Session
    );
    assert_seed_decisions(&b);
}

#[test]
fn seed_with_traits_and_cluster_wide_switch() {
    let b = bundle(WITH_TRAITS);
    assert_seed_decisions(&b);

    // "If per-session MFA was enabled cluster-wide, Jerry would be prompted
    // for MFA even when logging into dev1."
    let b = bundle(&(WITH_TRAITS.to_owned() + CAP_ON));
    let cases = [
        (dev1(), "jerry", "allow session [access-dev]"),
        (prod3(), "jerry", "allow session [access-prod]"),
        // denied; the requirement of a denial is only informational
        (prod3(), "root", "deny session []"),
    ];
    for (n, login, want) in cases {
        let d = Ask::new(&n, login).user("jerry").decide(&b);
        assert_eq!(summary(&d), want, "{login}@{}: {:?}", n.name, d.reasons);
    }
    // Without an identified cluster user, "root" is no cluster user's login:
    // host authentication applies, with the cluster's requirement.
    let d = Ask::new(&prod3(), "root").decide(&b);
    assert_eq!(
        (summary(&d), d.known_user),
        ("allow session []".to_owned(), false)
    );
    // Olga, not a cluster user, gets the cluster's requirement: now session.
    let d = Ask::new(&prod3(), "olga").decide(&b);
    assert_eq!(summary(&d), "allow session []");
}

#[test]
fn example_bundle_file() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/examples/bundle.yaml");
    let b = load_bundle_path(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    assert_eq!(
        b.roles().keys().collect::<Vec<_>>(),
        vec!["access-dev", "access-prod"]
    );
    assert_eq!(
        b.users()["jerry"]
            .roles
            .iter()
            .map(|r| &**r)
            .collect::<Vec<_>>(),
        vec!["access-dev", "access-prod"]
    );
    assert!(b.devices().is_empty());
    assert_eq!(b.cap.second_factor, "on");
    assert_eq!(b.cap.webauthn_rp_id.as_deref(), Some("example.com"));
    assert_eq!(b.cap.require_session_mfa, RequireMfa::Off);
    assert_seed_decisions(&b);

    // The same file with the cap switched on.
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text.matches("require_session_mfa: false\n  second_factor")
            .count(),
        1
    );
    let on = text.replacen(
        "require_session_mfa: false\n  second_factor",
        "require_session_mfa: true\n  second_factor",
        1,
    );
    let b = bundle(&on);
    let d = Ask::new(&dev1(), "jerry").decide(&b);
    assert_eq!(summary(&d), "allow session [access-dev]");
}

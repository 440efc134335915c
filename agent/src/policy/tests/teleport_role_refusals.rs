//! Roles Teleport's `RoleV6.CheckAndSetDefaults` refuses (api/types/role.go)
//! in the parts that do not decide node access: a wildcard in the allow
//! side's cloud identities and database roles, a `'*': <val>` selector in
//! any allow label map, a rule without resources or verbs, impersonation
//! with users but no roles, a deny `impersonate.where`, an unknown
//! `enhanced_recording` value. No such role exists in a cluster, so a
//! bundle with one is refused (with where), in YAML and in JSON alike; what
//! Teleport accepts next to each still loads.

use crate::policy::load_bundle_str;

fn role(spec: &str) -> String {
    format!("kind: role\nversion: v7\nmetadata: {{name: r}}\nspec:\n{spec}")
}

#[test]
fn what_teleport_refuses_refuses_the_bundle() {
    let cases: &[(&str, &str)] = &[
        (
            "  allow:\n    aws_role_arns: ['*']\n",
            "allow.aws_role_arns",
        ),
        (
            "  allow:\n    azure_identities: [a, '*']\n",
            "allow.azure_identities",
        ),
        (
            "  allow:\n    gcp_service_accounts: '*'\n",
            "allow.gcp_service_accounts",
        ),
        ("  allow:\n    db_roles: ['*']\n", "allow.db_roles"),
        (
            "  allow:\n    app_labels: {'*': prod}\n",
            "selector *:<val>",
        ),
        (
            "  allow:\n    kubernetes_labels: {'*': ['*', x]}\n",
            "selector *:<val>",
        ),
        ("  allow:\n    db_labels: {'*': x}\n", "selector *:<val>"),
        (
            "  allow:\n    windows_desktop_labels: {'*': x}\n",
            "selector *:<val>",
        ),
        ("  allow:\n    group_labels: {'*': x}\n", "selector *:<val>"),
        (
            "  allow:\n    workload_identity_labels: {'*': x}\n",
            "selector *:<val>",
        ),
        (
            "  allow:\n    rules: [{resources: [role]}]\n",
            "missing verbs",
        ),
        (
            "  deny:\n    rules: [{verbs: [read]}]\n",
            "missing resources",
        ),
        (
            "  allow:\n    impersonate: {users: [bob]}\n",
            "both users and roles",
        ),
        (
            "  deny:\n    impersonate: {users: [bob], roles: [r], where: 'true'}\n",
            "'where' is not supported",
        ),
        (
            "  options:\n    enhanced_recording: [command, keys]\n",
            "enhanced_recording",
        ),
    ];
    for (spec, fragment) in cases {
        let text = role(spec);
        let e = load_bundle_str(&text, "b.yaml").expect_err(&text);
        assert!(e.message.contains(fragment), "{text}: {e}");
        assert!(e.line.is_some(), "{text}: {e}");
        // The publisher's form, decoded element by element.
        let value: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let json = serde_json::to_string(&[value]).unwrap();
        let e = load_bundle_str(&json, "b.json").expect_err(&json);
        assert!(e.message.contains(fragment), "{json}: {e}");
    }
}

#[test]
fn what_teleport_accepts_beside_them_loads() {
    for spec in [
        "  allow:\n    aws_role_arns: ['arn:aws:iam::1:role/x']\n    app_labels: {'*': '*'}\n",
        "  deny:\n    aws_role_arns: ['*']\n    db_roles: ['*']\n    app_labels: {'*': prod}\n",
        "  allow:\n    rules: [{resources: [role], verbs: [list]}]\n    impersonate: {users: [bob], roles: [r]}\n",
        "  allow:\n    impersonate: {roles: [r]}\n  deny:\n    impersonate: {users: [bob], roles: [r]}\n",
        "  options:\n    enhanced_recording: [command, network, disk]\n",
        "  allow:\n    rules: null\n    impersonate: null\n    kubernetes_labels: null\n",
    ] {
        let text = role(spec);
        if let Err(e) = load_bundle_str(&text, "b.yaml") {
            panic!("{text}: {e}");
        }
    }
}

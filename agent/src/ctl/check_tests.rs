//! `mfactl check`'s tests.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::*;
use crate::fido2::soft::SoftAuthenticator;

#[test]
fn a_device_whose_key_cannot_answer_is_a_warning() {
    let good = SoftAuthenticator::from_seed("example.com", b"check");
    // The broken one is another credential (one device per key).
    let entry = |name: &str, key: &[u8]| {
        let mut credential = good.credential_id().to_vec();
        credential.extend_from_slice(name.as_bytes());
        format!(
            "    - {{kind: mfa_device, version: v1, metadata: {{name: {name}}}, id: id-{name}, webauthn: {{credentialId: {}, publicKeyCbor: {}}}}}\n",
            STANDARD.encode(credential),
            STANDARD.encode(key)
        )
    };
    let mut bad_key = good.public_key_cose();
    let n = bad_key.len();
    bad_key[n - 1] ^= 1;
    let text = format!(
        "kind: user\nversion: v2\nmetadata: {{name: jerry}}\nspec:\n  local_auth:\n    mfa:\n{}{}",
        entry("good", &good.public_key_cose()),
        entry("broken", &bad_key)
    );
    let dir = std::env::temp_dir().join(format!("pam-mfa-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("users.yaml");
    std::fs::write(&file, text).unwrap();
    let checked = run_check(&file);
    std::fs::remove_dir_all(&dir).unwrap();
    let Ok(Checked::Bundle {
        devices, warnings, ..
    }) = checked
    else {
        panic!("not a bundle")
    };
    assert_eq!(devices, 2);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    // The file has no cap: said, with how to fetch it.
    assert!(
        warnings[0].starts_with("no cluster_auth_preference in the bundle (")
            && warnings[0].contains("tctl get cap --format=yaml"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].starts_with("device \"broken\" of user \"jerry\" cannot answer a tap"),
        "{warnings:?}"
    );
}

#[test]
fn a_file_with_any_one_agent_yaml_key_is_an_agent_yaml() {
    for k in agent_config_keys() {
        let text = format!("# comment\n{k}:\n  x: 1\n");
        assert!(looks_like_agent_config(&text), "{k}");
    }
    assert!(looks_like_agent_config("# all commented out\n#node:\n"));
    // A Teleport resource has its kind, even beside a key agent.yaml has.
    assert!(!looks_like_agent_config(
        "kind: role\nversion: v7\nmetadata: {name: r}\nnode: x\n"
    ));
    assert!(!looks_like_agent_config(
        "---\nkind: user\nversion: v2\n---\nkind: lock\n"
    ));
}

/// The reviewer's case: the packaged agent.yaml (every key commented
/// out) with one section uncommented, e.g. only `approval_url:` or only
/// `attached_keys:`, is an agent.yaml, and a valid one.
#[test]
fn the_packaged_agent_yaml_with_any_one_section_uncommented_is_an_agent_yaml() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/etc/agent.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut sections = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(key) = line
            .strip_prefix('#')
            .and_then(|l| l.split(':').next())
            .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        else {
            continue;
        };
        let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        edited[i] = line[1..].to_string();
        for l in edited.iter_mut().skip(i + 1) {
            match l.strip_prefix("#  ") {
                Some(rest) => *l = format!("  {rest}"),
                None => break,
            }
        }
        let edited = edited.join("\n");
        assert!(looks_like_agent_config(&edited), "{key}:\n{edited}");
        if let Err(e) = AgentConfig::parse(&edited, key) {
            panic!("{key}: {e}\n{edited}");
        }
        sections.push(key.to_string());
    }
    for k in ["node", "approval_url", "attached_keys", "audit"] {
        assert!(sections.contains(&k.to_string()), "{k}: {sections:?}");
    }
}

/// Without node.id (in agent.yaml or Teleport's host_uuid file) a
/// lock naming this node by its host UUID does not hold it, and a
/// resource access request's certificate is refused here: said by
/// `mfactl check`, as a warning, whether or not cluster.name is set.
#[test]
fn an_agent_yaml_without_node_id_is_warned_about_locks_and_resource_requests() {
    let dir = std::env::temp_dir().join(format!("pam-mfa-check-id-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let teleport = dir.join("teleport");
    std::fs::create_dir_all(&teleport).unwrap();
    let file = dir.join("agent.yaml");
    let check = |node: &str, cluster: &str| {
        let yaml = format!(
            "node:\n  name: prod3\n  teleport_data_dir: {}\n{node}{cluster}",
            teleport.display()
        );
        std::fs::write(&file, yaml).unwrap();
        let Ok(Checked::AgentConfig {
            warnings, node_id, ..
        }) = run_check(&file)
        else {
            panic!("not an agent.yaml")
        };
        let warned = warnings.iter().any(|w| {
            w.starts_with("node.id is unset (agent.yaml sets none, and ")
                && w.contains("tctl lock --server-id")
                && w.contains("access request")
        });
        (warned, node_id)
    };
    let cluster = "cluster:\n  name: example.com\n";
    for c in [cluster, ""] {
        assert!(check("", c).0, "{c}");
        assert!(check("  id: ''\n", c).0, "{c}");
    }
    let (warned, id) = check("  id: 5f0c2a5e-0000-4000-8000-000000000003\n", cluster);
    assert!(!warned);
    assert_eq!(id.describe(), "from agent.yaml node.id");
    // Teleport's host_uuid file gives it when agent.yaml does not.
    let uuid = "5e1c2f7a-0000-4000-8000-000000000001";
    let host_uuid = teleport.join("host_uuid");
    std::fs::write(&host_uuid, format!("{uuid}\n")).unwrap();
    let (warned, id) = check("", "");
    assert!(!warned);
    assert_eq!(id.id.as_deref(), Some(uuid));
    // A file that is no host ID is refused, and said.
    std::fs::write(&host_uuid, "prod3\n").unwrap();
    let (warned, id) = check("", "");
    assert!(warned && id.id.is_none());
    assert!(id.describe().contains("is refused"), "{}", id.describe());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A bundle with node locks: said that they hold a node only where its
/// agent knows its host UUID.
#[test]
fn a_bundle_with_node_locks_says_they_need_the_host_uuid() {
    let dir = std::env::temp_dir().join(format!("pam-mfa-check-nl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("locks.yaml");
    let lock = |name: &str, target: &str| {
        format!(
            "kind: lock\nversion: v2\nmetadata: {{name: {name}}}\nspec: {{target: {{{target}}}}}\n"
        )
    };
    let warned = |text: &str| {
        std::fs::write(&file, text).unwrap();
        let Ok(Checked::Bundle { warnings, .. }) = run_check(&file) else {
            panic!("not a bundle")
        };
        warnings
            .into_iter()
            .find(|w| w.contains("name a node by server_id/node"))
    };
    assert_eq!(warned(&lock("l1", "login: rob")), None);
    // An expired lock holds no one: not counted.
    let expired = lock("l4", "node: prod4").replace("}}\n", "}, expires: 2023-06-01T00:00:00Z}\n");
    assert!(expired.contains("expires"), "{expired}");
    assert_eq!(warned(&expired), None);
    let text = format!(
        "{}---\n{}---\n{}---\n{expired}",
        lock("l1", "server_id: 5e1c2f7a-0000-4000-8000-000000000001"),
        lock("l2", "login: rob"),
        lock("l3", "node: prod3")
    );
    let w = warned(&text).expect("warned");
    assert!(
        w.starts_with("2 lock(s) in force name a node by server_id/node (l1, l3)")
            && w.contains("node.id")
            && w.contains("host_uuid"),
        "{w}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_that_is_neither_names_agent_yamls_keys() {
    let dir = std::env::temp_dir().join(format!("pam-mfa-check-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("agent.yaml");
    std::fs::write(&file, "attached_key:\n  enabled: true\n").unwrap();
    let checked = run_check(&file);
    std::fs::remove_dir_all(&dir).unwrap();
    let Err(e) = checked else {
        panic!("a misspelt key passed")
    };
    assert!(e.contains("resource has no kind"), "{e}");
    assert!(e.contains("attached_keys, approval_url"), "{e}");
}

/// A place the agent would refuse is an error only where it is agent.yaml's
/// own source (the directory, or a file in it); elsewhere it is read.
#[test]
fn only_the_configured_source_is_held_to_the_agents_rule() {
    let dir = std::env::temp_dir().join(format!("check-source-{}", std::process::id()));
    let policy = dir.join("policy.d");
    std::fs::create_dir_all(&policy).unwrap();
    let bundle = policy.join("bundle.yaml");
    std::fs::write(
        &bundle,
        "kind: role\nversion: v7\nmetadata: {name: r}\nspec: {}\n",
    )
    .unwrap();
    let other = dir.join("elsewhere.yaml");
    std::fs::write(&other, "x").unwrap();
    let config = dir.join("agent.yaml");
    std::fs::write(
        &config,
        format!("cluster:\n  source: file://{}\n", policy.display()),
    )
    .unwrap();
    assert!(is_configured_source(&policy, &config));
    assert!(is_configured_source(&bundle, &config));
    assert!(!is_configured_source(&other, &config));
    assert!(!is_configured_source(&bundle, &dir.join("missing.yaml")));
    std::fs::remove_dir_all(&dir).unwrap();
}

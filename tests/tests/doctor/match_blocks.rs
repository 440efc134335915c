//! Match blocks against real `sshd -T`: a block whose AuthenticationMethods
//! skips the key (an sftp-only group's `keyboard-interactive` or
//! `password`) is an error, and with the shipped /etc/pam.d/sshd (pam_mfa.so
//! alone) any password logs in now; blocks that turn off pam-mfa's path
//! fail closed (warnings), and `UsePAM` in a block is refused by sshd.

use super::*;

/// `sshd -T -C CONNECTION` on the sshd_config doctor read last in `work`:
/// README step 1's check for one account a Match block covers.
fn sshd_t_for(work: &WorkDir, connection: &str) -> String {
    let script = format!(
        "mount -t tmpfs -o mode=755 tmpfs /run && mkdir /run/sshd && exec {sshd} -T -f {main} -C {connection}",
        sshd = bins::SSHD,
        main = work.join("sshd_config").display(),
    );
    let out = in_private_mounts(&script);
    assert_eq!(out.code, Some(0), "{out:?}");
    out.stdout
}

fn find<'a>(found: &'a [Value], id: &str) -> &'a Value {
    found
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no {id}: {found:#?}"))
}

#[test]
fn a_match_block_that_skips_the_key_is_an_error_and_open_with_step_two() {
    pam_mfa_e2e::require_root!();
    assert!(Path::new(bins::SSHD).exists(), "sshd is needed");
    let work = WorkDir::new("doctor-match-methods");
    let drop_in = work.join("sshd_config.d/pam-mfa.conf");
    for (block, methods) in [
        (
            "Match Group sftponly\n  ForceCommand internal-sftp\n  AuthenticationMethods keyboard-interactive\n",
            "keyboard-interactive",
        ),
        ("Match User olga\n  AuthenticationMethods password\n", "password"),
    ] {
        let text = format!("{}{block}", shipped_drop_in());
        let (code, found) = doctor(&work, &text);
        assert_eq!(code, Some(2), "{found:#?}");
        let f = find(&found, "sshd.match_authentication_methods");
        let at = format!("{}:{}", drop_in.display(), text.lines().count());
        let what = f["what"].as_str().unwrap();
        assert!(
            what.contains(&at) && what.contains(&format!("AuthenticationMethods {methods}`")),
            "{what}"
        );
        // config/pam.d/sshd checks no password: open now, said first.
        assert_eq!(found[0]["id"], "pam.sshd.password_unchecked", "{found:#?}");
        assert!(
            found[0]["what"].as_str().unwrap().contains(&format!("with AuthenticationMethods {methods}")),
            "{}",
            found[0]
        );
    }
    // sshd applies the last one to olga alone, as doctor said (README's
    // `sshd -T -C` check), and the global methods to everyone else.
    let olga = sshd_t_for(&work, "user=olga,host=client.example.com,addr=192.0.2.10");
    assert!(
        olga.contains("\nauthenticationmethods password\n"),
        "{olga}"
    );
    let root = sshd_t_for(&work, "user=root,host=client.example.com,addr=192.0.2.10");
    assert!(
        root.contains("\nauthenticationmethods publickey,keyboard-interactive\n"),
        "{root}"
    );
    // The fix doctor names: the key first in the block too.
    let fixed = format!(
        "{}Match User olga\n  AuthenticationMethods publickey,keyboard-interactive\n",
        shipped_drop_in()
    );
    let (_, found) = doctor(&work, &fixed);
    let bad: Vec<String> = ids(&found)
        .into_iter()
        .filter(|id| id.starts_with("sshd.match") || id == "pam.sshd.password_unchecked")
        .collect();
    assert_eq!(bad, Vec::<String>::new(), "{found:#?}");
}

#[test]
fn match_blocks_that_turn_off_pam_mfas_path_fail_closed() {
    pam_mfa_e2e::require_root!();
    assert!(Path::new(bins::SSHD).exists(), "sshd is needed");
    let work = WorkDir::new("doctor-match-closed");
    for line in ["ExposeAuthInfo no", "PubkeyAuthentication no"] {
        let text = format!("{}Match User olga\n  {line}\n", shipped_drop_in());
        let (_, found) = doctor(&work, &text);
        let f = find(&found, "sshd.match_locks_out");
        assert_eq!(f["severity"], "warning");
        assert!(f["what"].as_str().unwrap().contains(line), "{f}");
        assert!(
            !ids(&found).contains(&"sshd.match_authentication_methods".to_string()),
            "{found:#?}"
        );
    }
    // sshd itself refuses UsePAM in a Match block.
    let text = format!("{}Match User olga\n  UsePAM no\n", shipped_drop_in());
    let (code, found) = doctor(&work, &text);
    let f = find(&found, "sshd.unreadable");
    assert!(f["what"].as_str().unwrap().contains("UsePAM"), "{f}");
    assert_eq!(code, Some(2));
}

/// README's two steps in the wrong order: /etc/pam.d/sshd with pam_mfa.so
/// alone before the drop-in (sshd's defaults let passwords and
/// keyboard-interactive in alone).
#[test]
fn step_two_before_step_one_is_found_first() {
    pam_mfa_e2e::require_root!();
    assert!(Path::new(bins::SSHD).exists(), "sshd is needed");
    let work = WorkDir::new("doctor-order");
    let (code, found) = doctor(&work, "UsePAM yes\n");
    assert_eq!(code, Some(2));
    let f = &found[0];
    assert_eq!(f["id"], "pam.sshd.password_unchecked", "{found:#?}");
    assert_eq!(f["severity"], "error");
    assert!(
        f["what"]
            .as_str()
            .unwrap()
            .contains("sshd -T has AuthenticationMethods any (PasswordAuthentication yes"),
        "{f}"
    );
    assert!(
        f["why"]
            .as_str()
            .unwrap()
            .starts_with("any password logs in now"),
        "{f}"
    );
}

/// The reviewer's two cases with real sshd: `Match Address 127.0.0.2` with
/// `PermitRootLogin prohibit-password` aborts root from there (sshd -T -C
/// shows it for that address only), an error naming the block's line; and
/// `PermitRootLogin no` outside with `yes` in the block, under the example
/// policy's `mfa: off` for root, lets a plain key in as root from there: the
/// same warning as a global `yes`, naming the block.
#[test]
fn permit_root_login_in_a_match_block_is_judged_as_the_global_one() {
    pam_mfa_e2e::require_root!();
    assert!(Path::new(bins::SSHD).exists(), "sshd is needed");
    let work = WorkDir::new("doctor-match-root");
    let drop_in = work.join("sshd_config.d/pam-mfa.conf");
    let text = format!(
        "{}Match Address 127.0.0.2\n  PermitRootLogin prohibit-password\n",
        shipped_drop_in()
    );
    let (code, found) = doctor(&work, &text);
    assert_eq!(code, Some(2), "{found:#?}");
    let f = find(&found, "sshd.permit_root_login");
    assert_eq!(f["severity"], "error");
    let at = format!("{}:{}", drop_in.display(), text.lines().count());
    let what = f["what"].as_str().unwrap();
    assert!(
        what.contains(&at) && what.contains("`Match Address 127.0.0.2`"),
        "{what}"
    );
    let from = |addr: &str| sshd_t_for(&work, &format!("user=root,host=localhost,addr={addr}"));
    assert!(from("127.0.0.2").contains("\npermitrootlogin without-password\n"));
    assert!(from("127.0.0.1").contains("\npermitrootlogin yes\n"));

    let config = super::policy_logins::agent_yaml(&work, "builtin:example");
    let host = Host {
        config: Some(&config),
        ..Host::default()
    };
    let text = format!(
        "PermitRootLogin no\n{}Match Address 127.0.0.2\n  PermitRootLogin yes\n",
        without_line(&shipped_drop_in(), "PermitRootLogin")
    );
    let (_, found) = doctor_on(&work, &text, &host);
    let policy = super::policy_logins::policy_findings(&found);
    assert_eq!(policy.len(), 1, "{found:#?}");
    assert_eq!(policy[0]["id"], "policy.root_ssh_mfa_off");
    let at = format!("{}:{}", drop_in.display(), text.lines().count());
    assert!(
        policy[0]["what"].as_str().unwrap().contains(&at),
        "{}",
        policy[0]
    );
    assert!(
        !ids(&found).contains(&"sshd.permit_root_login".to_string()),
        "{found:#?}"
    );
    assert!(from("127.0.0.2").contains("\npermitrootlogin yes\n"));
    assert!(from("127.0.0.1").contains("\npermitrootlogin no\n"));
}

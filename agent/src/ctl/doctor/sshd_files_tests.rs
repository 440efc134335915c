//! Reading sshd_config and its Include'd files as sshd does.

use super::*;

const KEYS: &[&str] = &["pubkeyauthoptions", "authorizedkeysfile"];

#[test]
fn lines_and_globs_as_sshd_reads_them() {
    assert_eq!(
        split_line("  PubkeyAuthOptions=none"),
        Some(("PubkeyAuthOptions", "none"))
    );
    assert_eq!(split_line("Match User bob"), Some(("Match", "User bob")));
    assert_eq!(split_line("A = b c"), Some(("A", "b c")));
    assert_eq!(split_line("  # Match all"), None);
    // A word that starts with `#` ends the line, as in sshd.
    assert_eq!(split_line("UsePAM no # cloud"), Some(("UsePAM", "no")));
    assert_eq!(split_line("UsePAM=no\t#x"), Some(("UsePAM", "no")));
    assert_eq!(split_line("Banner /a#b"), Some(("Banner", "/a#b")));
    assert_eq!(split_line("X \"a #b\" c"), Some(("X", "\"a #b\" c")));
    assert!(glob_match(b"*.conf", b"pam-mfa.conf"));
    assert!(!glob_match(b"*.conf", b"pam-mfa.conf.bak"));
    assert!(glob_match(b"a?c*", b"abc"));
}

#[test]
fn match_blocks_end_with_their_file_and_carry_into_includes() {
    let dir = std::env::temp_dir().join(format!("mfa-doctor-sshd-files-{}", std::process::id()));
    let d = dir.join("conf.d");
    std::fs::create_dir_all(&d).unwrap();
    let main = dir.join("sshd_config");
    let write = |p: &Path, t: &str| std::fs::write(p, t).unwrap();
    write(
        &main,
        &format!(
            "PubkeyAuthOptions touch-required\nInclude {d}/*.conf\nMatch User bob\n  Include {d}/inner\nMatch all\nauthorizedkeysfile=/k/%u\n",
            d = d.display()
        ),
    );
    // A block opened in an included file ends there: 20-b's setting is global.
    write(
        &d.join("10-a.conf"),
        "Match Address 10.0.0.0/8\nPubkeyAuthOptions none\n",
    );
    write(&d.join("20-b.conf"), "AuthorizedKeysFile .ssh/x\n");
    write(
        &d.join(".hidden.conf"),
        "Match all\nPubkeyAuthOptions none\n",
    );
    write(
        &d.join("inner"),
        "AuthorizedKeysFile .ssh/bob\nUsePAM yes\n",
    );
    let found = match_settings(&main, KEYS).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let got: Vec<(String, &str, &str)> = found
        .iter()
        .map(|s| {
            let file = s.at.rsplit('/').next().unwrap().to_string();
            (file, s.value.as_str(), s.criteria.as_str())
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("10-a.conf:2".to_string(), "none", "Address 10.0.0.0/8"),
            ("inner:1".to_string(), ".ssh/bob", "User bob"),
            ("sshd_config:6".to_string(), "/k/%u", "all"),
        ]
    );
    assert!(match_settings(&dir.join("gone"), KEYS).is_err());
}

/// The first value outside Match blocks wins, as in sshd: a cloud
/// image's 50-cloud-init.conf sorts before pam-mfa.conf.
#[test]
fn the_first_global_setting_is_found_in_the_file_that_sets_it() {
    let dir = std::env::temp_dir().join(format!("mfa-doctor-sshd-first-{}", std::process::id()));
    let d = dir.join("sshd_config.d");
    std::fs::create_dir_all(&d).unwrap();
    let main = dir.join("sshd_config");
    let write = |p: &Path, t: &str| std::fs::write(p, t).unwrap();
    write(
        &main,
        &format!(
            "Include {d}/*.conf\nKbdInteractiveAuthentication no\nUsePAM no\nX11Forwarding yes\n",
            d = d.display()
        ),
    );
    write(
        &d.join("50-cloud-init.conf"),
        "# cloud-init\nPermitRootLogin prohibit-password\nChallengeResponseAuthentication no\n",
    );
    write(
        &d.join("60-match.conf"),
        "Match User bob\nExposeAuthInfo no\n",
    );
    write(
        &d.join("pam-mfa.conf"),
        "UsePAM yes\nKbdInteractiveAuthentication yes\nPermitRootLogin yes\nExposeAuthInfo yes\n",
    );
    let keys = [
        "usepam",
        "kbdinteractiveauthentication",
        "permitrootlogin",
        "exposeauthinfo",
        "authenticationmethods",
    ];
    let found = global_settings(&main, &d.join("pam-mfa.conf"), &keys).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found.drop_in.order, Some(2));
    assert!(found.drop_in.exists);
    assert_eq!(
        summary(&found),
        vec![
            "exposeauthinfo: pam-mfa.conf:4 ExposeAuthInfo yes #5 drop-in",
            "kbdinteractiveauthentication: 50-cloud-init.conf:3 ChallengeResponseAuthentication no #1",
            "kbdinteractiveauthentication: pam-mfa.conf:2 KbdInteractiveAuthentication yes #3 drop-in",
            "kbdinteractiveauthentication: sshd_config:2 KbdInteractiveAuthentication no #6",
            "permitrootlogin: 50-cloud-init.conf:2 PermitRootLogin prohibit-password #0",
            "permitrootlogin: pam-mfa.conf:3 PermitRootLogin yes #4 drop-in",
            "usepam: pam-mfa.conf:1 UsePAM yes #2 drop-in",
            "usepam: sshd_config:3 UsePAM no #7",
        ]
    );
}

/// Each setting as `keyword: file:line Keyword value #order [drop-in]`.
fn summary(found: &GlobalSettings) -> Vec<String> {
    let mut out = Vec::new();
    for (k, settings) in &found.by_keyword {
        for s in settings {
            let file = s.at.rsplit('/').next().unwrap();
            let mark = if s.in_drop_in { " drop-in" } else { "" };
            out.push(format!(
                "{k}: {file} {} {} #{}{mark}",
                s.keyword, s.value, s.order
            ));
        }
    }
    out
}

/// Where the drop-in would be read before it exists: at its place in the
/// glob's order, or nowhere when no Include outside a Match block covers it.
#[test]
fn the_drop_in_has_its_place_in_the_glob_order_before_it_exists() {
    let dir = std::env::temp_dir().join(format!("mfa-doctor-sshd-place-{}", std::process::id()));
    let d = dir.join("sshd_config.d");
    std::fs::create_dir_all(&d).unwrap();
    let main = dir.join("sshd_config");
    let drop_in = d.join("pam-mfa.conf");
    let write = |p: &Path, t: &str| std::fs::write(p, t).unwrap();
    write(&d.join("50-cloud-init.conf"), "UsePAM no\n");
    write(&d.join("zz-late.conf"), "UsePAM yes\n");
    let place = |main_text: &str| {
        write(&main, &main_text.replace("{D}", &d.display().to_string()));
        global_settings(&main, &drop_in, &["usepam"])
            .unwrap()
            .drop_in
    };
    // After sshd_config's line and 50-cloud-init.conf's, before zz-late.conf.
    let glob = place("UsePAM yes\nInclude {D}/*.conf\n");
    let literal = place("UsePAM yes\nInclude {D}/50-cloud-init.conf {D}/pam-mfa.conf\n");
    let in_match = place("Match User bob\nInclude {D}/*.conf\n");
    let other_dir = place("Include {D}/../*.conf\n");
    let other_name = place("Include {D}/p*.cnf\n");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!glob.exists);
    assert_eq!(glob.order, Some(2));
    assert_eq!(literal.order, Some(2));
    assert_eq!(in_match.order, None);
    assert_eq!(other_dir.order, None);
    assert_eq!(other_name.order, None);
}

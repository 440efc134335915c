//! Every credential id of every candidate reaches the approval page's links
//! and `mfactl tap`'s `cred=`/`cred+=` words, each PAM message within 511
//! bytes: 64-byte roaming-key ids (86 base64url characters), five people
//! on a shared login, one person with six keys, and the bounds.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use pam_mfa_protocol::{PamHook, ResponseBody};

use super::approval_link_tests::{keys, link_value, links_of, page_answer, policy, PAGE, RP};
use super::conversation::answer;
use super::flow_tests::{prompt_text, Fixture, ALLOW};
use super::prompt_packing::{
    pack_credential_ids, pack_links, LinkGroup, Overflow, PersonIds, MAX_CREDENTIAL_LINES,
    MAX_LINK_MESSAGES, PAM_MESSAGE_ROOM,
};
use super::tap::Step;
use crate::ctl::tap::prompt_credential_ids;
use crate::fido2::soft::SoftAuthenticator;

/// A roaming key's 64-byte credential id: 86 base64url characters.
fn long_id(n: u8) -> String {
    URL_SAFE_NO_PAD.encode([n; 64])
}

fn people(per_person: &[usize]) -> Vec<PersonIds> {
    let mut n = 0u8;
    per_person
        .iter()
        .enumerate()
        .map(|(i, &count)| PersonIds {
            user: format!("user{i}"),
            ids: (0..count)
                .map(|_| {
                    n += 1;
                    long_id(n)
                })
                .collect(),
        })
        .collect()
}

/// A link of `head` bytes before its names and ids.
fn fits_after(head: usize) -> impl Fn(&LinkGroup) -> bool {
    move |g| head + g.users.join(", ").len() + g.ids.join(",").len() <= PAM_MESSAGE_ROOM
}

fn every_id_once(people: &[PersonIds], groups: &[LinkGroup]) {
    let got: Vec<&str> = groups.iter().flat_map(|g| g.ids.clone()).collect();
    let want: Vec<&str> = people
        .iter()
        .flat_map(|p| p.ids.iter().map(String::as_str))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn five_people_are_packed_whole_and_none_is_left_out() {
    let five = people(&[1, 1, 1, 1, 1]);
    let groups = pack_links(&five, fits_after(250)).unwrap();
    every_id_once(&five, &groups);
    assert!(groups.len() > 1 && groups.len() < 5, "{groups:?}");
    // Each link names exactly the people whose ids it holds.
    for g in &groups {
        assert_eq!(g.users.len(), g.ids.len(), "{g:?}");
    }
}

#[test]
fn one_persons_six_keys_are_split_only_because_they_do_not_fit() {
    let one = people(&[6]);
    let groups = pack_links(&one, fits_after(250)).unwrap();
    every_id_once(&one, &groups);
    assert!(groups.len() >= 3, "{groups:?}");
    assert!(groups.iter().all(|g| g.users == ["user0"]));
    // A second person with one key is not split, and does not split the first.
    let two = people(&[2, 1]);
    let groups = pack_links(&two, fits_after(250)).unwrap();
    every_id_once(&two, &groups);
    assert_eq!(groups[0].users, ["user0"]);
    assert_eq!(groups[1].users, ["user1"]);
}

#[test]
fn past_the_bounds_nothing_is_offered_and_the_reason_is_given() {
    // One id alone does not fit beside the head: no link at all.
    assert_eq!(
        pack_links(&people(&[1]), fits_after(PAM_MESSAGE_ROOM - 10)),
        Err(Overflow::NoRoom)
    );
    // More links than a prompt carries.
    let crowd = people(&[1; MAX_LINK_MESSAGES + 1]);
    assert_eq!(
        pack_links(&crowd, fits_after(400)),
        Err(Overflow::TooMany {
            needed: MAX_LINK_MESSAGES + 1
        })
    );
    let at_bound = people(&[1; MAX_LINK_MESSAGES]);
    assert_eq!(
        pack_links(&at_bound, fits_after(400)).unwrap().len(),
        MAX_LINK_MESSAGES
    );
    // cred=: all in the question, or the rest on lines with cred_more=N.
    let ids: Vec<String> = (1..=3).map(long_id).collect();
    let (word, lines) = pack_credential_ids(&ids, 400).unwrap();
    assert_eq!(word, format!(" cred={}", ids.join(",")));
    assert!(lines.is_empty());
    let ids: Vec<String> = (1..=20).map(long_id).collect();
    let (word, lines) = pack_credential_ids(&ids, 300).unwrap();
    let in_word = word.split(',').count();
    assert!(
        word.ends_with(&format!(" cred_more={}", 20 - in_word)),
        "{word}"
    );
    assert!(lines.iter().all(|l| l.len() <= PAM_MESSAGE_ROOM));
    let text = format!("{}\n{word}", lines.join("\n"));
    assert_eq!(prompt_credential_ids(&text).unwrap().len(), 20);
    let many: Vec<String> = (1..=200).map(long_id).collect();
    assert!(matches!(
        pack_credential_ids(&many, 300),
        Err(Overflow::TooMany { needed }) if needed > MAX_CREDENTIAL_LINES
    ));
}

/// The question's words never outgrow the room the challenge leaves: when
/// not even ` cred_more=N` fits, there is no room (the prompt then says so
/// and mfactl tap asks about the enrolled keys). Before, ` cred_more=N`
/// went in anyway, past PAM's 511 bytes (found by the `tap_prompt` fuzz
/// target with a room of 0).
#[test]
fn the_cred_more_word_fits_the_room_or_there_is_no_room() {
    let ids: Vec<String> = (1..=3).map(long_id).collect();
    for room in 0..=300 {
        match pack_credential_ids(&ids, room) {
            Ok((word, _)) => assert!(word.len() <= room, "room {room}: {word}"),
            Err(e) => assert_eq!(e, Overflow::NoRoom, "room {room}"),
        }
    }
    assert_eq!(pack_credential_ids(&ids, 0), Err(Overflow::NoRoom));
    assert_eq!(pack_credential_ids(&ids, 14), Err(Overflow::NoRoom));
    let (word, lines) = pack_credential_ids(&ids, 15).unwrap();
    assert_eq!((word.as_str(), lines.len()), (" cred_more=3", 1));
}

/// `root` on prod3, which the role ops gives to five people (nobody's
/// traits name it): any of them may tap. One WebAuthn key each, with a
/// 64-byte credential id.
fn shared_login(keys: &[SoftAuthenticator]) -> String {
    let mut p = String::from(
        "kind: role\nversion: v7\nmetadata: {name: ops}\nspec:\n  options: {require_session_mfa: true}\n  allow:\n    logins: [root]\n    node_labels: {env: prod}\n---\n\
         kind: cluster_auth_preference\nversion: v2\nmetadata: {name: cluster-auth-preference}\nspec:\n  type: local\n  second_factor: on\n  webauthn:\n    rp_id: example.test\n",
    );
    for (i, k) in keys.iter().enumerate() {
        let spec = k.registration();
        p.push_str(&format!(
            "---\nkind: user\nversion: v2\nmetadata: {{name: ops{i}}}\nspec: {{roles: [ops], traits: {{logins: [ops{i}]}}}}\n---\nkind: mfa_device\nversion: v1\nmetadata: {{name: ops{i}-key}}\nspec:\n  user: ops{i}\n  webauthn:\n    credential_id: {}\n    public_key_cbor: {}\n",
            spec["credential_id"].as_str().unwrap(),
            spec["public_key_cbor"].as_str().unwrap()
        ));
    }
    p
}

fn roaming_keys(n: u8) -> Vec<SoftAuthenticator> {
    (0..n)
        .map(|i| SoftAuthenticator::from_seed(RP, &[b'r', i]).with_credential_id(&[0x40 + i; 64]))
        .collect()
}

/// Every key's id is in exactly one link, whose `u=` names its owner, and
/// among the ids mfactl tap reads from the prompt; the last key approves
/// on the page and the login is let in.
fn every_key_is_offered_and_the_last_approves(
    f: &Fixture,
    mut keys: Vec<SoftAuthenticator>,
    owner: impl Fn(usize) -> String,
) {
    let Step::Ask(conv, prompt) = f.begin(PamHook::Auth, None, "10.0.0.9") else {
        panic!("expected a challenge")
    };
    let links = links_of(&prompt);
    let text = prompt_text(&prompt);
    let ResponseBody::Prompt { prompts } = &prompt else {
        unreachable!()
    };
    assert!(prompts.iter().all(|p| p.text.len() <= PAM_MESSAGE_ROOM));
    let from_prompt = prompt_credential_ids(&text).expect("cred= in the prompt");
    for (i, k) in keys.iter().enumerate() {
        let id = URL_SAFE_NO_PAD.encode(k.credential_id());
        let holding: Vec<&String> = links
            .iter()
            .filter(|l| link_value(l, "k").split(',').any(|x| x == id))
            .collect();
        assert_eq!(holding.len(), 1, "key {i}: {links:#?}");
        assert!(
            link_value(holding[0], "u")
                .split("%2C%20")
                .any(|u| u == owner(i)),
            "{}",
            holding[0]
        );
        let label = holding[0].split_once("): ").unwrap().0;
        assert!(label.contains(&owner(i)), "{label}");
        assert_eq!(link_value(holding[0], "s"), "sshd");
        assert_eq!(link_value(holding[0], "h"), "10.0.0.9");
        assert!(from_prompt.contains(&k.credential_id().to_vec()), "key {i}");
    }
    assert_eq!(from_prompt.len(), keys.len());
    let challenge = crate::challenge::find_challenge(&text).unwrap().text;
    let last = keys.last_mut().unwrap();
    let line = page_answer(last, &challenge, PAGE);
    match answer(&f.state, conv, &[line]) {
        Step::Done(body) => assert_eq!(body, ALLOW),
        Step::Ask(_, again) => panic!("{}", prompt_text(&again)),
    }
}

#[test]
fn five_candidates_on_a_shared_login_all_get_their_key_offered() {
    let ks = roaming_keys(5);
    let f = Fixture::new(&shared_login(&ks), &format!("approval_url: {PAGE}/\n"));
    every_key_is_offered_and_the_last_approves(&f, ks, |i| format!("ops{i}"));
}

#[test]
fn one_person_with_six_keys_gets_the_backup_key_offered() {
    let ks: Vec<SoftAuthenticator> = keys(6)
        .into_iter()
        .enumerate()
        .map(|(i, k)| k.with_credential_id(&[0x60 + i as u8; 64]))
        .collect();
    let f = Fixture::new(&policy(&ks), &format!("approval_url: {PAGE}/\n"));
    every_key_is_offered_and_the_last_approves(&f, ks, |_| "alice".to_string());
}

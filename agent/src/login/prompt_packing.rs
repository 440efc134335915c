//! Fitting every credential id of every candidate into PAM messages of at
//! most 511 bytes: the approval page's links (several when one does not
//! hold them all, a person's ids kept together) and the `cred=` word of the
//! answer prompt with `cred+=` info lines for the ids beyond it.
//!
//! Teleport's `loginFlow.begin` (lib/auth/webauthn/login.go) puts every
//! WebAuthn device of the user in allowCredentials, and its MFA credentials
//! are not discoverable: an id left out is a key that cannot answer. So ids
//! are never dropped here: past the bounds below, the caller shows no link
//! (or no `cred=` list) and says how many keys there are.

/// PAM's message limit without its NUL (PAM_MAX_MSG_SIZE is 512).
pub(super) const PAM_MESSAGE_ROOM: usize = 511;
/// At most this many approval links in one prompt.
pub(super) const MAX_LINK_MESSAGES: usize = 16;
/// At most this many `cred+=` info lines in one prompt. With the error,
/// the challenge line and the answer prompt, a prompt stays within PAM's
/// 32 messages (PAM_MAX_NUM_MSG).
pub(super) const MAX_CREDENTIAL_LINES: usize = 8;
/// What starts each `cred+=` line.
pub(super) const MORE_IDS_LEAD: &str = "pam-mfa: more key ids for mfactl tap: cred+=";
/// The question's word saying how many ids the `cred+=` lines hold.
pub(super) const MORE_IDS_WORD: &str = " cred_more=";

/// One candidate's credential ids (base64url), most recent first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PersonIds {
    pub(super) user: String,
    pub(super) ids: Vec<String>,
}

/// The ids of one approval link and whose they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LinkGroup<'a> {
    pub(super) users: Vec<&'a str>,
    pub(super) ids: Vec<&'a str>,
}

/// Why the ids cannot all be offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Overflow {
    /// Not even one id fits a message beside what must come with it.
    NoRoom,
    /// They need `needed` messages, more than the bound.
    TooMany { needed: usize },
}

/// The number of ids of `people`.
pub(super) fn id_count(people: &[PersonIds]) -> usize {
    people.iter().map(|p| p.ids.len()).sum()
}

/// Packs `people` into links for which `fits` holds (the whole message
/// within PAM's limit), in order: whole people share a link while they
/// fit; one whose ids alone do not fit one link gets several. Every id is
/// in exactly one group.
pub(super) fn pack_links<'a>(
    people: &'a [PersonIds],
    fits: impl Fn(&LinkGroup) -> bool,
) -> Result<Vec<LinkGroup<'a>>, Overflow> {
    let mut links: Vec<LinkGroup<'a>> = Vec::new();
    let mut open: Option<LinkGroup<'a>> = None;
    for person in people.iter().filter(|p| !p.ids.is_empty()) {
        let ids: Vec<&str> = person.ids.iter().map(String::as_str).collect();
        if let Some(mut group) = open.take() {
            let before = group.clone();
            group.users.push(&person.user);
            group.ids.extend(&ids);
            if fits(&group) {
                open = Some(group);
                continue;
            }
            links.push(before);
        }
        // This person starts a link, and more when their ids need them.
        let mut group = LinkGroup {
            users: vec![&person.user],
            ids: Vec::new(),
        };
        for id in ids {
            group.ids.push(id);
            if fits(&group) {
                continue;
            }
            group.ids.pop();
            if group.ids.is_empty() {
                return Err(Overflow::NoRoom);
            }
            links.push(group.clone());
            group.ids = vec![id];
            if !fits(&group) {
                return Err(Overflow::NoRoom);
            }
        }
        open = Some(group);
    }
    links.extend(open);
    if links.len() > MAX_LINK_MESSAGES {
        return Err(Overflow::TooMany {
            needed: links.len(),
        });
    }
    Ok(links)
}

/// The question's ` cred=...` words and the `cred+=` lines for `ids`:
/// as many as fit `room` bytes of the question, the rest on info lines,
/// with ` cred_more=N` in the question saying how many those hold (so
/// `mfactl tap` knows when it was given only the question).
pub(super) fn pack_credential_ids(
    ids: &[String],
    room: usize,
) -> Result<(String, Vec<String>), Overflow> {
    let all = credential_word(ids.iter().map(String::as_str), room);
    if all.1 == ids.len() {
        return Ok((all.0, Vec::new()));
    }
    // Room for ` cred_more=` and the count (at most 4 digits). Without it
    // the question would outgrow PAM's message: no room, as for an id.
    let reserve = MORE_IDS_WORD.len() + 4;
    let room_for_ids = room.checked_sub(reserve).ok_or(Overflow::NoRoom)?;
    let (mut word, taken) = credential_word(ids.iter().map(String::as_str), room_for_ids);
    let mut lines: Vec<String> = Vec::new();
    for id in &ids[taken..] {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + id.len() <= PAM_MESSAGE_ROOM => {
                line.push(',');
                line.push_str(id);
            }
            _ => {
                let line = format!("{MORE_IDS_LEAD}{id}");
                if line.len() > PAM_MESSAGE_ROOM {
                    return Err(Overflow::NoRoom);
                }
                lines.push(line);
            }
        }
    }
    if lines.len() > MAX_CREDENTIAL_LINES {
        return Err(Overflow::TooMany {
            needed: lines.len(),
        });
    }
    word.push_str(&format!("{MORE_IDS_WORD}{}", ids.len() - taken));
    Ok((word, lines))
}

/// [`pack_credential_ids`] for the `tap_prompt` fuzz target
/// (`cfg(fuzzing)`: cargo-fuzz): None when the ids cannot all be offered.
#[cfg(fuzzing)]
#[doc(hidden)]
pub fn pack_credential_ids_for_fuzzing(
    ids: &[String],
    room: usize,
) -> Option<(String, Vec<String>)> {
    pack_credential_ids(ids, room).ok()
}

/// ` cred=ID,ID...` with the ids that fit in `room` bytes, in order (none:
/// no word), and how many it holds.
fn credential_word<'a>(ids: impl Iterator<Item = &'a str>, room: usize) -> (String, usize) {
    let mut word = String::new();
    let mut taken = 0;
    for id in ids {
        let sep = if word.is_empty() { " cred=" } else { "," };
        if word.len() + sep.len() + id.len() > room {
            break;
        }
        word.push_str(sep);
        word.push_str(id);
        taken += 1;
    }
    (word, taken)
}

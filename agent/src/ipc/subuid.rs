//! Whose subordinate uids a uid is. A user with a range in /etc/subuid may
//! map it into a user namespace of their own (newuidmap; rootless
//! containers), and a peer there shows the agent one of those uids: as many
//! uids as the range holds. Counted as persons, they would take every
//! connection persons may have; they are the range's owner's.
//! (The peer's namespace itself cannot be asked: opening /proc/PID/ns/user
//! of another user's process needs CAP_SYS_PTRACE, which the agent does not
//! have, and the pid may be reused by then.)

use std::sync::Mutex;
use std::time::SystemTime;

/// Where newuidmap reads who may map which uids.
pub(super) const SUBUID: &str = "/etc/subuid";
/// Read at most (a range is one short line).
const MAX_BYTES: u64 = 4 << 20;

/// One line: the owner (a name or a uid) and the range `[first, first+count)`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Range {
    owner: String,
    first: u64,
    count: u64,
}

/// The file's ranges, read again when its modification time changes.
type Cached = Option<(Option<SystemTime>, Vec<Range>)>;

/// The owner (a user name or a uid, as the file names it) of the range
/// holding `uid` in [`SUBUID`], if any.
pub(super) fn owner_of(uid: u32) -> Option<String> {
    static CACHE: Mutex<Cached> = Mutex::new(None);
    let modified = std::fs::metadata(SUBUID)
        .ok()
        .and_then(|m| m.modified().ok());
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if cache
        .as_ref()
        .is_none_or(|(at, _)| *at != modified || at.is_none())
    {
        *cache = Some((modified, read_ranges()));
    }
    let (_, ranges) = cache.as_ref()?;
    find(ranges, uid)
}

fn read_ranges() -> Vec<Range> {
    use std::io::Read;
    let mut text = String::new();
    let read =
        std::fs::File::open(SUBUID).and_then(|f| f.take(MAX_BYTES).read_to_string(&mut text));
    if read.is_err() {
        return Vec::new();
    }
    parse(&text)
}

/// `owner:first:count` lines; anything else is skipped.
fn parse(text: &str) -> Vec<Range> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.trim().split(':');
            let owner = f.next()?.trim();
            let first = f.next()?.trim().parse().ok()?;
            let count = f.next()?.trim().parse().ok()?;
            (!owner.is_empty() && !owner.starts_with('#') && f.next().is_none()).then(|| Range {
                owner: owner.to_string(),
                first,
                count,
            })
        })
        .collect()
}

fn find(ranges: &[Range], uid: u32) -> Option<String> {
    let uid = u64::from(uid);
    ranges
        .iter()
        .find(|r| uid >= r.first && uid - r.first < r.count)
        .map(|r| r.owner.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uid_in_a_range_belongs_to_its_owner() {
        let ranges =
            parse("jerry:100000:65536\n# a comment\n1002:165536:65536\nbad line\nx:1:2:3\n");
        assert_eq!(ranges.len(), 2);
        assert_eq!(find(&ranges, 100000).as_deref(), Some("jerry"));
        assert_eq!(find(&ranges, 165535).as_deref(), Some("jerry"));
        assert_eq!(find(&ranges, 165536).as_deref(), Some("1002"));
        assert_eq!(find(&ranges, 231072), None);
        assert_eq!(find(&ranges, 99999), None);
        assert_eq!(
            find(&parse("big:4294967000:65536\n"), u32::MAX).as_deref(),
            Some("big")
        );
    }
}

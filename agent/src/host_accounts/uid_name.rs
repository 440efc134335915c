//! The name getpwuid gives a uid, for deciding a login that names no
//! cluster user (`login::policy_login::uid_alias`) without a login waiting
//! long on a slow or hung directory: the look-up runs on a thread of its
//! own, one at a time per uid and [`MAX_RUNNING`] at most; a login waits
//! for a uid's first answer at most [`FIRST_WAIT`] and then goes on without
//! it (the uid's name is then not known, as before the agent asked), and an
//! answer older than [`TTL`] is used while it is looked up again.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long an answer is used before it is looked up again.
const TTL: Duration = Duration::from_secs(10);
/// How long a login waits for a uid's first answer.
const FIRST_WAIT: Duration = Duration::from_secs(2);
/// Look-ups running at most (a hung directory holds one thread each).
const MAX_RUNNING: usize = 8;
/// Uids remembered at most (then all but those being looked up are
/// forgotten).
const MAX_UIDS: usize = 4096;

type Lookup = Arc<dyn Fn(u32) -> Option<String> + Send + Sync>;

/// The last answer for a uid, when it came, and whether one is awaited.
#[derive(Default)]
struct Answer {
    name: Option<String>,
    at: Option<Instant>,
    running: bool,
}

/// Answers of a look-up, each on a thread of its own.
pub(super) struct UidNames {
    lookup: Lookup,
    answers: Mutex<HashMap<u32, Answer>>,
    answered: Condvar,
}

impl UidNames {
    fn new(lookup: Lookup) -> Arc<Self> {
        Arc::new(UidNames {
            lookup,
            answers: Mutex::new(HashMap::new()),
            answered: Condvar::new(),
        })
    }

    /// The name of `uid`: a fresh answer at once, else a look-up started
    /// (unless one runs, or [`MAX_RUNNING`] do) and the last answer, or,
    /// with none yet, the look-up's answer if it comes within `first_wait`.
    /// `Err` when no answer came: the database has not said.
    fn name(
        self: &Arc<Self>,
        uid: u32,
        first_wait: Duration,
    ) -> Result<Option<String>, Unanswered> {
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        if answers.len() >= MAX_UIDS {
            answers.retain(|_, a| a.running);
        }
        let running = answers.values().filter(|a| a.running).count();
        let answer = answers.entry(uid).or_default();
        if answer.at.is_some_and(|at| at.elapsed() < TTL) {
            return Ok(answer.name.clone());
        }
        if !answer.running && running < MAX_RUNNING {
            let names = Arc::clone(self);
            answer.running = std::thread::Builder::new()
                .name("uid-name".into())
                .spawn(move || names.look_up(uid))
                .is_ok();
        }
        if answer.at.is_none() && answer.running {
            answers = self
                .answered
                .wait_timeout_while(answers, first_wait, |a| {
                    a.get(&uid).is_some_and(|a| a.at.is_none() && a.running)
                })
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        match answers.get(&uid) {
            Some(a) if a.at.is_some() => Ok(a.name.clone()),
            _ => Err(Unanswered),
        }
    }

    /// One look-up, stored with the time it ended.
    fn look_up(&self, uid: u32) {
        let name = (self.lookup)(uid);
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        let answer = answers.entry(uid).or_default();
        answer.name = name;
        answer.at = Some(Instant::now());
        answer.running = false;
        self.answered.notify_all();
    }
}

/// The user database gave no answer for a uid in time (a slow or hung
/// directory, or [`MAX_RUNNING`] look-ups already waiting on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unanswered;

/// The name getpwuid gives `uid` (its first entry in the user database),
/// waited for at most [`FIRST_WAIT`]: `Ok(None)` when it has none, `Err`
/// when the directory has not answered by then.
pub fn name_of_uid_bounded(uid: u32) -> Result<Option<String>, Unanswered> {
    #[cfg(test)]
    if super::PASSWD.with(|p| p.borrow().is_some()) {
        if super::UNANSWERED_UIDS.with(|u| u.borrow().contains(&uid)) {
            return Err(Unanswered);
        }
        return Ok(super::name_of_uid(uid));
    }
    static NAMES: OnceLock<Arc<UidNames>> = OnceLock::new();
    NAMES
        .get_or_init(|| UidNames::new(Arc::new(crate::ipc::name_of_uid)))
        .name(uid, FIRST_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    /// A look-up that answers `uid N` for N once released (one release per
    /// answer), and counts its calls.
    fn held_lookup() -> (Lookup, mpsc::Sender<()>, Arc<AtomicUsize>) {
        let (release, released) = mpsc::channel::<()>();
        let released = Mutex::new(released);
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        let lookup: Lookup = Arc::new(move |uid| {
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = released.lock().unwrap().recv();
            Some(format!("uid {uid}"))
        });
        (lookup, release, calls)
    }

    #[test]
    fn a_login_goes_on_without_an_answer_that_has_not_come() {
        let (lookup, release, calls) = held_lookup();
        let names = UidNames::new(lookup);
        assert_eq!(names.name(5, Duration::ZERO), Err(Unanswered));
        // One look-up per uid runs at a time.
        assert_eq!(names.name(5, Duration::ZERO), Err(Unanswered));
        release.send(()).unwrap();
        // Waits only until the answer came.
        assert_eq!(
            names.name(5, Duration::from_secs(600)),
            Ok(Some("uid 5".into()))
        );
        assert_eq!(names.name(5, Duration::ZERO), Ok(Some("uid 5".into())));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_hung_directory_holds_at_most_max_running_threads() {
        let (lookup, release, calls) = held_lookup();
        let names = UidNames::new(lookup);
        for uid in 0..MAX_RUNNING as u32 + 3 {
            assert_eq!(names.name(uid, Duration::ZERO), Err(Unanswered));
        }
        for _ in 0..MAX_RUNNING {
            release.send(()).unwrap();
        }
        // Every look-up that was started answers (each thread counts its
        // call when it runs, which may be after this point: wait for all).
        for uid in 0..MAX_RUNNING as u32 {
            assert_eq!(
                names.name(uid, Duration::from_secs(600)),
                Ok(Some(format!("uid {uid}")))
            );
        }
        assert_eq!(calls.load(Ordering::SeqCst), MAX_RUNNING);
    }

    #[test]
    fn the_real_database_names_uid_0_root() {
        assert_eq!(name_of_uid_bounded(0), Ok(Some("root".into())));
    }
}

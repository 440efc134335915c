//! Whether a login may wait on its person: what `flow` is given and
//! `conversation` obeys, here so that neither imports the other for it.

/// Whether a login may start to wait on its person's answer (a prompt, a
/// tap on a key, a forwarded ssh-agent's signature): `Err` says why not
/// (its person's pending logins are all taken, `ipc::budgets`), and a
/// login that would wait is refused with it. A decision that needs no
/// answer is made either way.
pub type MayWait<'a> = Result<(), &'a str>;

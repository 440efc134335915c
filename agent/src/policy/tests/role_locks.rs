//! Locks on a user's roles: a bundle user's roles are looked up by their
//! position in the bundle, and by name only when some lock names the role
//! or the bundle does not hold it (`LockIndex::find`); every one of them
//! still holds the login.

use super::support::{bundle, node, role, user, Ask};

const ANY_NODE: &str = "  allow:\n    logins: ['{{internal.logins}}']\n    node_labels: {'*': '*'}";

fn lock(name: &str, role: &str) -> String {
    format!("---\nkind: lock\nversion: v2\nmetadata: {{name: {name}}}\nspec:\n  target: {{role: {role}}}\n")
}

#[test]
fn a_lock_on_any_of_the_users_roles_holds_the_login() {
    let b = bundle(
        &[
            role("r1", "v7", ANY_NODE),
            role("r2", "v7", ANY_NODE),
            role("r3", "v7", ANY_NODE),
            user("jerry", &["r1", "r2"], &["jerry"]),
            user("amy", &["r3", "gone"], &["amy"]),
            user("olga", &["r3", "r1"], &["olga"]),
            lock("on-r2", "r2"),
            lock("on-gone", "gone"),
        ]
        .concat(),
    );
    let n = node("prod3", &[("env", "prod")]);
    let jerry = Ask::new(&n, "jerry").decide(&b);
    assert!(
        jerry.locked,
        "r2, jerry's second role, is locked: {jerry:?}"
    );
    // A role the bundle does not hold is looked up by its name.
    let amy = Ask::new(&n, "amy").decide(&b);
    assert!(amy.locked, "gone, a role amy holds, is locked: {amy:?}");
    let olga = Ask::new(&n, "olga").decide(&b);
    assert!(!olga.locked && olga.is_allowed(), "{olga:?}");
}

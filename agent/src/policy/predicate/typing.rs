//! The type rules the parser applies, as Teleport's typical checks them
//! while it builds the expression: `&&`/`||` on booleans, and argument
//! coercion.

use super::{Node, PredicateError, Ty};

/// A node, its type, and where it starts.
pub(super) type Typed = (Node, Ty, usize);

/// `&&` and `||`: both sides must be booleans.
pub(super) fn logic(
    (l, lt, at): Typed,
    (r, rt, r_at): Typed,
    op: &str,
    build: impl FnOnce(Node, Node) -> Node,
) -> Result<Typed, PredicateError> {
    if lt != Ty::Bool {
        return Err(PredicateError::at(
            at,
            format!("operator ({op}) takes booleans, not a {lt}"),
        ));
    }
    if rt != Ty::Bool {
        return Err(PredicateError::at(
            r_at,
            format!("operator ({op}) takes booleans, not a {rt}"),
        ));
    }
    Ok((build(l, r), Ty::Bool, at))
}

/// typical's `coerce`: the type asked for, or a string where a list is asked
/// for (a one-element list).
pub(super) fn coerce(
    node: Node,
    ty: Ty,
    want: Ty,
    at: usize,
    func: &str,
    n: usize,
) -> Result<Node, PredicateError> {
    match (ty, want) {
        (a, b) if a == b => Ok(node),
        (Ty::Str, Ty::List) => Ok(Node::ToList(Box::new(node))),
        _ => Err(PredicateError::at(
            at,
            format!("argument {n} to function ({func}) must be a {want}, not a {ty}"),
        )),
    }
}

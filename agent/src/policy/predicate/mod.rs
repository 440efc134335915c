//! `node_labels_expression`: Teleport's predicate language for labels
//! (lib/services/parser.go `newLabelExpressionParser` on lib/utils/typical).
//!
//! Variables: `labels["k"]` / `labels.k` (the node's label, `""` when
//! absent), `user.spec.traits["k"]` / `user.spec.traits.k` (a list, empty
//! when absent). (`user.metadata.name`, which only the newest Teleport
//! versions know, is an unknown identifier here: the role loads with a
//! warning, and a login it is asked about is refused, as Teleport's
//! `matchLabelExpression`, which passes no user name, fails evaluating it.)
//! Functions: `set(...)`,
//! `labels_matching(glob)`, `contains(list, s)`, `contains_any(list, list)`,
//! `contains_all(list, list)` (false for an empty second list),
//! `regexp.match(list, glob_or_^regex$)`, `regexp.replace(list, re, repl)`,
//! `email.local(list)`, `strings.upper(list)`, `strings.lower(list)`.
//! Operators `!`, `&&`, `||`, `==`, `!=` (strings or integers); string and
//! integer literals. A string is taken where a list is asked for. The result
//! must be a boolean. Parsing and type errors are found at load time; errors
//! while evaluating (an invalid regex, a value that is not an email address)
//! are returned, and the caller fails closed.

mod eval;
mod go_case;
#[cfg(test)]
mod go_syntax_tests;
mod parser;
#[cfg(test)]
mod tests;
mod typing;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A parse or type error, at a byte offset in the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredicateError {
    /// 0-based byte offset in the expression.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl PredicateError {
    fn at(offset: usize, message: impl Into<String>) -> Self {
        PredicateError {
            offset,
            message: message.into(),
        }
    }
}

impl fmt::Display for PredicateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (at offset {} in the expression)",
            self.message, self.offset
        )
    }
}

/// A parsed `node_labels_expression`, or one kept with its parse error.
/// Compares by its text.
#[derive(Debug, Clone)]
pub struct LabelExpression {
    source: String,
    root: Result<Arc<Node>, PredicateError>,
}

impl PartialEq for LabelExpression {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for LabelExpression {}

/// What an expression is evaluated against.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    /// The node's labels.
    pub labels: &'a BTreeMap<String, String>,
    /// The user's traits.
    pub traits: &'a crate::policy::Traits,
}

impl LabelExpression {
    /// Parses and type-checks `source`.
    pub fn parse(source: &str) -> Result<LabelExpression, PredicateError> {
        let parsed = LabelExpression::parse_or_keep(source);
        match parsed.root {
            Ok(_) => Ok(parsed),
            Err(e) => Err(e),
        }
    }

    /// As Teleport's `ValidateRole` does: an expression that does not parse
    /// (or type-check) only warns, and the role loads; it fails when it is
    /// evaluated (`matchLabelExpression` parses again), so every access
    /// check that reaches it fails. See [`LabelExpression::parse_error`].
    pub fn parse_or_keep(source: &str) -> LabelExpression {
        LabelExpression {
            source: source.to_owned(),
            root: parser::parse(source).map(Arc::new),
        }
    }

    /// Why the expression does not parse, when it does not.
    pub fn parse_error(&self) -> Option<&PredicateError> {
        self.root.as_ref().err()
    }

    /// The expression's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the expression holds for `env`; an error when it cannot be
    /// evaluated (the caller must not allow, and must deny on a deny side).
    pub fn matches(&self, env: &Env<'_>) -> Result<bool, String> {
        let root = self
            .root
            .as_ref()
            .map_err(|e| format!("it does not parse: {e}"))?;
        match eval::eval(root, env)? {
            eval::Value::Bool(b) => Ok(b),
            _ => Err("the expression is not a boolean".to_owned()),
        }
    }
}

/// Static types, checked at parse time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Bool,
    Str,
    Int,
    List,
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ty::Bool => "boolean",
            Ty::Str => "string",
            Ty::Int => "integer",
            Ty::List => "list of strings",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Set,
    LabelsMatching,
    Contains,
    ContainsAny,
    ContainsAll,
    RegexpMatch,
    RegexpReplace,
    EmailLocal,
    Upper,
    Lower,
}

impl Func {
    fn by_name(name: &str) -> Option<Func> {
        Some(match name {
            "set" => Func::Set,
            "labels_matching" => Func::LabelsMatching,
            "contains" => Func::Contains,
            "contains_any" => Func::ContainsAny,
            "contains_all" => Func::ContainsAll,
            "regexp.match" => Func::RegexpMatch,
            "regexp.replace" => Func::RegexpReplace,
            "email.local" => Func::EmailLocal,
            "strings.upper" => Func::Upper,
            "strings.lower" => Func::Lower,
            _ => return None,
        })
    }

    /// Parameter types, whether the last repeats (then `params` are the
    /// fixed ones and the rest are strings), and the result type.
    fn signature(self) -> (&'static [Ty], bool, Ty) {
        use Ty::{Bool, List, Str};
        match self {
            Func::Set => (&[], true, List),
            Func::LabelsMatching => (&[Str], false, List),
            Func::Contains => (&[List, Str], false, Bool),
            Func::ContainsAny | Func::ContainsAll => (&[List, List], false, Bool),
            Func::RegexpMatch => (&[List, Str], false, Bool),
            Func::RegexpReplace => (&[List, Str, Str], false, List),
            Func::EmailLocal | Func::Upper | Func::Lower => (&[List], false, List),
        }
    }
}

/// A type-checked expression.
#[derive(Debug)]
enum Node {
    Str(String),
    Int(i64),
    Label(Box<Node>),
    Trait(Box<Node>),
    ToList(Box<Node>),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Eq {
        negate: bool,
        left: Box<Node>,
        right: Box<Node>,
    },
    Call(Func, Vec<Node>),
}

//! Parses and type-checks an expression at load time, as Teleport's
//! `typical` parser does: unknown identifiers or functions, wrong argument
//! counts or types, and a result that is not a boolean are errors before any
//! evaluation.

use super::typing::{coerce, logic, Typed};
use super::{Func, Node, PredicateError, Ty};
use crate::policy::go_lexer::{tokenize, Spanned, Tok};

/// The most tokens an expression may have, and the deepest nesting
/// (parentheses, calls, indices, `!`): bounds on the recursion of parsing,
/// evaluating and dropping, so a hostile bundle cannot exhaust the stack.
/// Real expressions are a few dozen tokens deep at most.
const MAX_TOKENS: usize = 2048;
const MAX_DEPTH: usize = 64;

/// Parses `src` into a node of type boolean.
pub(super) fn parse(src: &str) -> Result<Node, PredicateError> {
    if src.trim().is_empty() {
        return Err(PredicateError::at(0, "empty expression"));
    }
    let toks = tokenize(src).map_err(|(at, why)| PredicateError::at(at, why))?;
    if toks.len() > MAX_TOKENS {
        return Err(PredicateError::at(
            toks[MAX_TOKENS].1,
            format!("expression too long (over {MAX_TOKENS} tokens)"),
        ));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let (node, ty, at) = p.or()?;
    // go/parser's ParseExpr: one automatic semicolon (a line break after
    // the expression, or its end) may come before the end of the text.
    p.eat(&Tok::Newline);
    let (tok, off) = p.peek();
    if *tok != Tok::End {
        return Err(PredicateError::at(
            *off,
            format!("unexpected {}", tok.describe()),
        ));
    }
    if ty != Ty::Bool {
        return Err(PredicateError::at(
            at,
            format!("the expression is a {ty}, not a boolean"),
        ));
    }
    Ok(node)
}

struct Parser {
    toks: Vec<Spanned>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Spanned {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Spanned {
        let t = self.peek().clone();
        self.pos += 1;
        t
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if &self.peek().0 == tok {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: Tok) -> Result<usize, PredicateError> {
        let (t, at) = self.next();
        if t == tok {
            Ok(at)
        } else {
            Err(PredicateError::at(
                at,
                format!("expected {tok:?}, found {}", t.describe()),
            ))
        }
    }

    /// A nested expression (the whole, parenthesized, an argument, a key).
    fn or(&mut self) -> Result<Typed, PredicateError> {
        self.enter()?;
        let result = self.or_chain();
        self.depth -= 1;
        result
    }

    fn enter(&mut self) -> Result<(), PredicateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PredicateError::at(
                self.peek().1,
                format!("expression nested too deeply (over {MAX_DEPTH} levels)"),
            ));
        }
        Ok(())
    }

    fn or_chain(&mut self) -> Result<Typed, PredicateError> {
        let mut left = self.and()?;
        while self.eat(&Tok::Or) {
            let right = self.and()?;
            left = logic(left, right, "||", |l, r| Node::Or(Box::new(l), Box::new(r)))?;
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Typed, PredicateError> {
        let mut left = self.compare()?;
        while self.eat(&Tok::And) {
            let right = self.compare()?;
            left = logic(left, right, "&&", |l, r| {
                Node::And(Box::new(l), Box::new(r))
            })?;
        }
        Ok(left)
    }

    fn compare(&mut self) -> Result<Typed, PredicateError> {
        let left = self.unary()?;
        let negate = match self.peek().0 {
            Tok::Eq => false,
            Tok::Ne => true,
            _ => return Ok(left),
        };
        let (_, op_at) = self.next();
        let right = self.unary()?;
        let (l, lt, at) = left;
        let (r, rt, _) = right;
        if !matches!(lt, Ty::Str | Ty::Int) || lt != rt {
            return Err(PredicateError::at(
                op_at,
                format!(
                    "operator ({}) compares two strings or two integers, not a {lt} and a {rt}",
                    if negate { "!=" } else { "==" }
                ),
            ));
        }
        Ok((
            Node::Eq {
                negate,
                left: Box::new(l),
                right: Box::new(r),
            },
            Ty::Bool,
            at,
        ))
    }

    fn unary(&mut self) -> Result<Typed, PredicateError> {
        if let (Tok::Not, at) = self.peek().clone() {
            self.pos += 1;
            self.enter()?;
            let inner = self.unary();
            self.depth -= 1;
            let (node, ty, _) = inner?;
            if ty != Ty::Bool {
                return Err(PredicateError::at(
                    at,
                    format!("operator (!) takes a boolean, not a {ty}"),
                ));
            }
            return Ok((Node::Not(Box::new(node)), Ty::Bool, at));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Typed, PredicateError> {
        let (tok, at) = self.next();
        match tok {
            Tok::Str(s) => Ok((Node::Str(s), Ty::Str, at)),
            Tok::Int(n) => Ok((Node::Int(n), Ty::Int, at)),
            Tok::LParen => {
                if let Some((base, name, bracket)) = self.parenthesized_map() {
                    self.pos = bracket;
                    return self.map_index(base, &name, at);
                }
                let inner = self.or()?;
                self.expect(Tok::RParen)?;
                Ok(inner)
            }
            Tok::Ident(first) => self.path(first, at),
            other => Err(PredicateError::at(
                at,
                format!("unexpected {}", other.describe()),
            )),
        }
    }

    /// `a.b.c`, then a call `(...)` or a variable, maybe indexed `[...]`.
    fn path(&mut self, first: String, at: usize) -> Result<Typed, PredicateError> {
        let mut parts = vec![first];
        while self.peek().0 == Tok::Dot {
            self.pos += 1;
            match self.next() {
                (Tok::Ident(s), _) => parts.push(s),
                (t, off) => {
                    return Err(PredicateError::at(
                        off,
                        format!("expected a name after '.', found {}", t.describe()),
                    ))
                }
            }
        }
        let name = parts.join(".");
        if self.eat(&Tok::LParen) {
            return self.call(&name, at);
        }
        let (base, rest) = match parts.as_slice() {
            [l] if l == "labels" => (Some(Base::Labels), None),
            [l, key] if l == "labels" => (Some(Base::Labels), Some(key.clone())),
            [u, s, t] if (u, s, t) == (&"user".into(), &"spec".into(), &"traits".into()) => {
                (Some(Base::Traits), None)
            }
            [u, s, t, key] if (u, s, t) == (&"user".into(), &"spec".into(), &"traits".into()) => {
                (Some(Base::Traits), Some(key.clone()))
            }
            _ => (None, None),
        };
        let Some(base) = base else {
            return Err(PredicateError::at(
                at,
                format!("unknown identifier: {name:?}"),
            ));
        };
        match rest {
            Some(key) => Ok(base.index(Node::Str(key), at)),
            None => self.map_index(base, &name, at),
        }
    }

    /// `[key]` after the map `name` (at `at`): its value.
    fn map_index(&mut self, base: Base, name: &str, at: usize) -> Result<Typed, PredicateError> {
        let open = self.expect(Tok::LBracket).map_err(|_| {
            PredicateError::at(at, format!("{name} is a map: index it, as {name}[\"key\"]"))
        })?;
        let (key, ty, _) = self.or()?;
        if ty != Ty::Str {
            return Err(PredicateError::at(
                open,
                format!("a map key must be a string, not a {ty}"),
            ));
        }
        // Go reads `m[k,]` as the index expression `m[k]`.
        self.eat(&Tok::Comma);
        self.expect(Tok::RBracket)?;
        Ok(base.index(key, at))
    }

    /// After a `(`: `labels)` or `user.spec.traits)`, in any number of
    /// further parentheses, then `[`. Go reads `(labels)["k"]` as an index
    /// of the parenthesised map and predicate evaluates it as `labels["k"]`.
    /// The map, its name and where its `[` is.
    fn parenthesized_map(&self) -> Option<(Base, String, usize)> {
        let tok = |i: usize| self.toks.get(i).map(|(t, _)| t);
        let ident = |i: usize, name: &str| matches!(tok(i), Some(Tok::Ident(n)) if n == name);
        let mut i = self.pos;
        let mut open = 1;
        while tok(i) == Some(&Tok::LParen) {
            open += 1;
            i += 1;
        }
        let (base, name) = if ident(i, "labels") {
            i += 1;
            (Base::Labels, "labels")
        } else if ident(i, "user")
            && tok(i + 1) == Some(&Tok::Dot)
            && ident(i + 2, "spec")
            && tok(i + 3) == Some(&Tok::Dot)
            && ident(i + 4, "traits")
        {
            i += 5;
            (Base::Traits, "user.spec.traits")
        } else {
            return None;
        };
        for _ in 0..open {
            if tok(i) != Some(&Tok::RParen) {
                return None;
            }
            i += 1;
        }
        (tok(i) == Some(&Tok::LBracket)).then(|| (base, name.to_owned(), i))
    }

    fn call(&mut self, name: &str, at: usize) -> Result<Typed, PredicateError> {
        let func = Func::by_name(name)
            .ok_or_else(|| PredicateError::at(at, format!("unsupported function: {name}")))?;
        let args = self.arguments()?;
        let (params, variadic, result) = func.signature();
        let count_ok = if variadic {
            args.len() >= params.len()
        } else {
            args.len() == params.len()
        };
        if !count_ok {
            return Err(PredicateError::at(
                at,
                format!(
                    "function ({name}) takes {}{} arguments, given {}",
                    params.len(),
                    if variadic { " or more" } else { "" },
                    args.len()
                ),
            ));
        }
        let mut nodes = Vec::with_capacity(args.len());
        for (i, (node, ty, arg_at)) in args.into_iter().enumerate() {
            let want = params.get(i).copied().unwrap_or(Ty::Str);
            nodes.push(coerce(node, ty, want, arg_at, name, i + 1)?);
        }
        Ok((Node::Call(func, nodes), result, at))
    }
}

impl Parser {
    /// A call's arguments after its `(`, through its `)`, as go/parser reads
    /// them: separated by commas, a trailing comma allowed (and needed
    /// before a `)` on its own line: a line break after an argument ends
    /// the statement), `...` after the last one allowed.
    fn arguments(&mut self) -> Result<Vec<Typed>, PredicateError> {
        let mut args = Vec::new();
        while !matches!(self.peek().0, Tok::RParen | Tok::End) {
            args.push(self.or()?);
            // `f(a, b...)`: Go ends the list at `...`; predicate ignores it.
            let spread = self.eat(&Tok::Ellipsis);
            if !self.eat(&Tok::Comma) || spread {
                break;
            }
        }
        let (tok, at) = self.next();
        match tok {
            Tok::RParen => Ok(args),
            Tok::Newline => Err(PredicateError::at(
                at,
                "missing ',' before newline in argument list",
            )),
            other => Err(PredicateError::at(
                at,
                format!(
                    "missing ',' or ')' in argument list, found {}",
                    other.describe()
                ),
            )),
        }
    }
}

enum Base {
    Labels,
    Traits,
}

impl Base {
    /// The value at `key` in this map.
    fn index(self, key: Node, at: usize) -> Typed {
        match self {
            Base::Labels => (Node::Label(Box::new(key)), Ty::Str, at),
            Base::Traits => (Node::Trait(Box::new(key)), Ty::List, at),
        }
    }
}

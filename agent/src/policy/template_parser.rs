//! The expression between a trait template's `{{` and `}}`, read as
//! Teleport reads it (lib/utils/parse/parse.go `NewTraitsTemplateExpression`
//! on lib/utils/typical): Go's `go/parser.ParseExpr` (see `go_lexer`: Go
//! keywords are not names, a line break after a complete operand ends the
//! expression), then the AST nodes vulcand/predicate walks:
//! - parentheses around any operand (`*ast.ParenExpr`): `(internal.logins)`,
//!   `email.local((external.email))`, `(internal)["logins"]`;
//! - `NS.NAME` and `NS["NAME"]` (`internal` reads an internal trait; any
//!   other namespace is `external`, typical's `WithInvalidNamespaceHack`);
//!   `NS.NAME.MORE` is an unknown identifier;
//! - string literals (a string where a list is asked for is a one-value
//!   list);
//! - the calls `email.local(list)` and `regexp.replace(list, "re", "repl")`,
//!   Go's argument lists (a trailing comma, and `...` after the last
//!   argument, are allowed).
//!
//! Not accepted, as in Teleport: a parenthesised function name or selector
//! base (`(email).local(...)`), operators, numbers, other functions.

use std::sync::Arc;

use regex::Regex;

use super::go_lexer::{tokenize, Spanned, Tok};
use super::regex_cache::cached_regex;

/// A parsed template expression (evaluated in `traits`).
#[derive(Debug)]
pub(super) enum Expr {
    /// `internal.NAME` (`internal` true) or `external.NAME` (any other
    /// namespace: Teleport's parser takes `x.NAME` as `external.NAME`).
    Trait {
        internal: bool,
        name: String,
    },
    /// A constant argument: `"vitor@example.com"`.
    Literal(String),
    EmailLocal(Box<Expr>),
    RegexpReplace(Box<Expr>, Arc<Regex>, String),
}

/// The deepest nesting of parentheses and calls (a bound on recursion for
/// hostile input; real templates nest two or three deep).
const MAX_DEPTH: usize = 64;

/// Parses `src`, the text between the braces, into an expression that
/// yields a list of values.
pub(super) fn parse_template_expression(src: &str) -> Result<Expr, String> {
    let toks = tokenize(src).map_err(|(at, why)| format!("{why} at offset {at}"))?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let value = p.operand()?;
    // go/parser's ParseExpr: one automatic semicolon may end the text.
    p.eat(&Tok::Newline);
    let (tok, at) = p.next();
    if tok != Tok::End {
        return Err(format!("unexpected {} at offset {at}", tok.describe()));
    }
    value.into_list()
}

/// What an operand is, as typical types it.
enum Value {
    /// `internal` or `external` (or any other name, read as `external`):
    /// a map of traits, only good for indexing.
    Traits { internal: bool },
    /// A string literal.
    Str(String),
    /// A list of values: a trait, or a function's result.
    List(Expr),
}

impl Value {
    /// typical's coercion to a list of strings.
    fn into_list(self) -> Result<Expr, String> {
        match self {
            Value::List(e) => Ok(e),
            Value::Str(s) => Ok(Expr::Literal(s)),
            Value::Traits { .. } => {
                Err("a trait namespace is a map: name a trait, as external.NAME".to_owned())
            }
        }
    }

    fn into_string(self, what: &str) -> Result<String, String> {
        match self {
            Value::Str(s) => Ok(s),
            _ => Err(format!("{what} must be a string literal")),
        }
    }
}

struct Parser {
    toks: Vec<Spanned>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].0
    }

    fn next(&mut self) -> Spanned {
        let t = self.toks[self.pos.min(self.toks.len() - 1)].clone();
        self.pos += 1;
        t
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == tok {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: Tok, context: &str) -> Result<(), String> {
        let (t, at) = self.next();
        if t == tok {
            return Ok(());
        }
        Err(format!(
            "expected {tok:?}{context}, found {} at offset {at}",
            t.describe()
        ))
    }

    /// An operand, then any `[key]` on a trait namespace.
    fn operand(&mut self) -> Result<Value, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("nested too deeply (over {MAX_DEPTH} levels)"));
        }
        let result = self.primary().and_then(|v| self.indices(v));
        self.depth -= 1;
        result
    }

    fn primary(&mut self) -> Result<Value, String> {
        let (tok, at) = self.next();
        match tok {
            Tok::Str(s) => Ok(Value::Str(s)),
            Tok::LParen => {
                let inner = self.operand()?;
                self.expect(Tok::RParen, "")?;
                Ok(inner)
            }
            Tok::Ident(first) => self.named(first),
            other => Err(format!("unexpected {} at offset {at}", other.describe())),
        }
    }

    /// `NS`, `NS.NAME` or `NS.FN(...)` after its first name.
    fn named(&mut self, first: String) -> Result<Value, String> {
        if !self.eat(&Tok::Dot) {
            if self.peek() == &Tok::LParen {
                return Err(format!("unsupported function {first}"));
            }
            return Ok(Value::Traits {
                internal: first == "internal",
            });
        }
        let member = match self.next() {
            (Tok::Ident(m), _) => m,
            (t, at) => {
                return Err(format!(
                    "expected a name after '.', found {} at offset {at}",
                    t.describe()
                ))
            }
        };
        if self.peek() == &Tok::Dot {
            return Err(format!("unknown identifier {first}.{member}.…"));
        }
        if self.eat(&Tok::LParen) {
            return self.call(&first, &member);
        }
        trait_var(&first, member)
    }

    /// `[key]` after a trait namespace (`internal["logins"]`).
    fn indices(&mut self, mut value: Value) -> Result<Value, String> {
        while self.eat(&Tok::LBracket) {
            let Value::Traits { internal } = value else {
                return Err("only a trait namespace can be indexed".to_owned());
            };
            let key = self.operand()?.into_string("a trait name")?;
            // Go reads `m[k,]` as the index expression `m[k]`.
            self.eat(&Tok::Comma);
            self.expect(Tok::RBracket, "")?;
            let ns = if internal { "internal" } else { "external" };
            value = trait_var(ns, key)?;
        }
        Ok(value)
    }

    fn call(&mut self, ns: &str, name: &str) -> Result<Value, String> {
        let args = self.arguments()?;
        let want = match (ns, name) {
            ("email", "local") => 1,
            ("regexp", "replace") => 3,
            _ => return Err(format!("unsupported function {ns}.{name}")),
        };
        if args.len() != want {
            return Err(format!(
                "function {ns}.{name} takes {want} argument(s), given {}",
                args.len()
            ));
        }
        let mut args = args.into_iter();
        let mut arg = || args.next().ok_or("missing argument".to_owned());
        let inner = Box::new(arg()?.into_list()?);
        if want == 1 {
            return Ok(Value::List(Expr::EmailLocal(inner)));
        }
        let pattern = arg()?.into_string("the regexp.replace pattern")?;
        let replacement = arg()?.into_string("the regexp.replace replacement")?;
        // Go's regexp syntax (see policy::go_regex).
        let re = cached_regex(&pattern).map_err(|e| format!("regexp.replace: {e}"))?;
        Ok(Value::List(Expr::RegexpReplace(inner, re, replacement)))
    }

    /// A call's arguments after its `(`, through its `)`, as go/parser reads
    /// them: a trailing comma is allowed, and a line break after an argument
    /// without one is an error; `...` may follow the last argument.
    fn arguments(&mut self) -> Result<Vec<Value>, String> {
        let mut args = Vec::new();
        while !matches!(self.peek(), Tok::RParen | Tok::End) {
            args.push(self.operand()?);
            // `f(a...)`: Go ends the list at `...`; predicate ignores it.
            let spread = self.eat(&Tok::Ellipsis);
            if !self.eat(&Tok::Comma) || spread {
                break;
            }
        }
        match self.next() {
            (Tok::RParen, _) => Ok(args),
            (Tok::Newline, at) => Err(format!(
                "missing ',' before newline in argument list at offset {at}"
            )),
            (t, at) => Err(format!(
                "missing ',' or ')' in argument list, found {} at offset {at}",
                t.describe()
            )),
        }
    }
}

/// `internal.NAME`, `external.NAME`; any other `NS.NAME` is read as
/// `external.NAME`, as Teleport's template parser does
/// (`typical.WithInvalidNamespaceHack`).
fn trait_var(ns: &str, name: String) -> Result<Value, String> {
    if name.is_empty() {
        return Err("empty trait name".to_owned());
    }
    Ok(Value::List(Expr::Trait {
        internal: ns == "internal",
        name,
    }))
}

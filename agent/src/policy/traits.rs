//! Trait templates in role values: Teleport's `ApplyValueTraits`.
//!
//! A value without `{{`/`}}` is a literal. Otherwise it must be
//! `prefix{{expression}}suffix` (prefix and suffix without braces), where the
//! expression is one of
//! - `internal.NAME`, `external.NAME`, `internal["NAME"]`, `external["NAME"]`
//!   (both read the user's trait NAME; `internal` only for the traits Teleport
//!   supports there, see [`SUPPORTED_INTERNAL_TRAITS`]; any other namespace is
//!   read as `external`, as Teleport's parser does),
//! - a constant string: `"vitor@example.com"` (as a function argument),
//! - `email.local(EXPR)`: the local part of each email address,
//! - `regexp.replace(EXPR, "RE", "REPL")`: values that match RE, with every
//!   match replaced by REPL, whose `$1`, `$name`, `$$` expand as in Go
//!   (`$1x` is the group named `1x`: nothing; `${1}` cannot be written, a
//!   template allowing no other brace; see `go_replace`); other values are
//!   dropped,
//!
//! in Go's syntax, as Teleport parses it (see `template_parser`): operands
//! may be parenthesised, a Go keyword is not a trait name
//! (`{{external.default}}` is invalid; `{{external["default"]}}` is fine),
//! and a line break after a complete operand ends the expression.
//!
//! Each value the expression yields becomes `prefix + value + suffix`; empty
//! values are dropped. A template that yields nothing is dropped by the caller.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use super::email_address::parse_address;
use super::go_replace::regexp_replace;
use super::resources::Traits;
use super::template_parser::{parse_template_expression, Expr};

/// Why a template produced no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// The trait is missing or has no usable value.
    NoValue(String),
    /// The template cannot be parsed or evaluated.
    Invalid(String),
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::NoValue(m) | TemplateError::Invalid(m) => f.write_str(m),
        }
    }
}

/// The values `value` stands for, given a user's traits.
pub fn interpolate(value: &str, traits: &Traits) -> Result<Vec<String>, TemplateError> {
    if !is_template(value) {
        return Ok(vec![value.to_owned()]);
    }
    // Parsed once per distinct value, not per decision (Go's tokenizer
    // was a tenth of a decision).
    let parsed = cached_template(value);
    let template = match &*parsed {
        Ok(Some(t)) => t,
        Ok(None) => return Ok(vec![value.to_owned()]),
        Err(e) => return Err(e.clone()),
    };
    let (prefix, suffix) = (
        &value[template.prefix.clone()],
        &value[template.suffix.clone()],
    );
    let values = template.expr.eval(traits)?;
    let out: Vec<String> = values
        .into_iter()
        .filter(|v| !v.is_empty())
        .map(|v| format!("{prefix}{v}{suffix}"))
        .collect();
    if out.is_empty() {
        return Err(TemplateError::NoValue(format!(
            "{value:?} expands to nothing ({} has no value)",
            template.expr.trait_name()
        )));
    }
    Ok(out)
}

/// Whether `value` is a template (valid or not) rather than a literal: it
/// holds `{{` or `}}`. A literal interpolates to itself for every user.
pub(super) fn is_template(value: &str) -> bool {
    value.contains("{{") || value.contains("}}")
}

/// Teleport's `IsValidUnixUser` (lib/utils/utils.go): 1..=32 bytes, not
/// starting with `-`, no `:` or `/`, no whitespace or control character.
/// Role logins that fail it are dropped (`filterInvalidUnixLogins`).
pub fn is_valid_unix_user(login: &str) -> bool {
    !login.is_empty()
        && login.len() <= 32
        && !login.starts_with('-')
        && !login.contains([':', '/'])
        && !login.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// What a role value is, as far as indices go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ValueShape {
    /// No template: the value itself.
    Literal,
    /// Exactly the non-empty values of one trait (`{{internal.NAME}}` or
    /// `{{external.NAME}}`, no prefix, suffix or function).
    Trait(String),
    /// Anything else (functions, prefix or suffix, invalid templates).
    Other,
}

/// The shape of `value`, parsed exactly as [`interpolate`] parses it.
pub(crate) fn value_shape(value: &str) -> ValueShape {
    match Template::parse(value) {
        Ok(None) => ValueShape::Literal,
        // An unsupported `internal.X` names no login: Teleport's
        // ApplyValueTraits fails on it (Other: it expands to nothing).
        Ok(Some(Template {
            prefix,
            suffix,
            expr: Expr::Trait { internal, name },
        })) if prefix.is_empty()
            && suffix.is_empty()
            && (!internal || SUPPORTED_INTERNAL_TRAITS.contains(&name.as_str())) =>
        {
            ValueShape::Trait(name)
        }
        _ => ValueShape::Other,
    }
}

/// A template value, parsed: where its prefix and suffix lie in the value
/// (blanks before the prefix and after the suffix left out) and its
/// expression.
struct Template {
    prefix: Range<usize>,
    suffix: Range<usize>,
    expr: Expr,
}

impl Template {
    /// `None` for a literal.
    fn parse(value: &str) -> Result<Option<Template>, TemplateError> {
        if !is_template(value) {
            return Ok(None);
        }
        let invalid =
            |why: &str| TemplateError::Invalid(format!("invalid template {value:?}: {why}"));
        let open = value
            .find("{{")
            .ok_or_else(|| invalid("'}}' without '{{'"))?;
        let close = value[open..]
            .find("}}")
            .map(|i| open + i)
            .ok_or_else(|| invalid("'{{' without '}}'"))?;
        let prefix = &value[..open];
        let inner = &value[open + 2..close];
        let suffix = &value[close + 2..];
        if [prefix, inner, suffix]
            .iter()
            .any(|p| p.contains(['{', '}']))
        {
            return Err(invalid("one {{expression}} with no other braces expected"));
        }
        // Teleport hands the text between the braces, blanks included, to
        // Go's parser.
        let expr = parse_template_expression(inner).map_err(|e| invalid(&e))?;
        let prefix_start = open - prefix.trim_start().len();
        let suffix_end = close + 2 + suffix.trim_end().len();
        Ok(Some(Template {
            prefix: prefix_start..open,
            suffix: close + 2..suffix_end,
            expr,
        }))
    }
}

/// Parsed template values kept at most (then all are forgotten).
const MAX_PARSED: usize = 10_000;

type Parsed = Arc<Result<Option<Template>, TemplateError>>;

/// `value` parsed as [`Template::parse`] does, once per distinct value and
/// shared by every decision: a role value such as `{{internal.logins}}` is
/// the same text for every user who holds the role, and tokenizing it in
/// Go's syntax for each decision cost about a tenth of one (perf,
/// BENCHMARKS.md). Values come from the loaded policy (root's), never from
/// a peer; the map is bounded all the same, and parsing depends on the text
/// alone, so a reload needs no invalidation.
fn cached_template(value: &str) -> Parsed {
    static CACHE: OnceLock<Mutex<HashMap<String, Parsed>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(value) {
        return Arc::clone(hit);
    }
    let parsed = Arc::new(Template::parse(value));
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= MAX_PARSED {
        cache.clear();
    }
    cache.insert(value.to_owned(), Arc::clone(&parsed));
    parsed
}

/// The internal traits Teleport expands (lib/services/role.go
/// `ApplyValueTraits`); any other `internal.NAME` is an unsupported variable
/// and the value is dropped, even when the user has a trait NAME.
const SUPPORTED_INTERNAL_TRAITS: &[&str] = &[
    "logins",
    "windows_logins",
    "kubernetes_groups",
    "kubernetes_users",
    "db_names",
    "db_users",
    "db_roles",
    "aws_role_arns",
    "azure_identities",
    "gcp_service_accounts",
    "jwt",
    "github_orgs",
];

impl Expr {
    fn trait_name(&self) -> String {
        match self {
            Expr::Trait { name, .. } => format!("trait {name:?}"),
            Expr::Literal(v) => format!("constant {v:?}"),
            Expr::EmailLocal(inner) | Expr::RegexpReplace(inner, ..) => inner.trait_name(),
        }
    }

    fn eval(&self, traits: &Traits) -> Result<Vec<String>, TemplateError> {
        match self {
            Expr::Trait {
                internal: true,
                name,
            } if !SUPPORTED_INTERNAL_TRAITS.contains(&name.as_str()) => {
                Err(TemplateError::Invalid(format!(
                    "unsupported variable internal.{name} (Teleport expands only internal.{})",
                    SUPPORTED_INTERNAL_TRAITS.join(", internal.")
                )))
            }
            Expr::Trait { name, .. } => match traits.get(name) {
                Some(values) if !values.is_empty() => Ok(values.to_vec()),
                _ => Err(TemplateError::NoValue(format!(
                    "trait {name:?} is missing or empty"
                ))),
            },
            Expr::Literal(v) => Ok(vec![v.clone()]),
            Expr::EmailLocal(inner) => inner
                .eval(traits)?
                .into_iter()
                .map(|v| email_local(&v).map_err(TemplateError::Invalid))
                .collect(),
            // Teleport's `RegexpReplace` (lib/utils/parse): Go's
            // `ReplaceAllString` and `$` expansion (see `go_replace`).
            Expr::RegexpReplace(inner, re, repl) => {
                let values = inner.eval(traits)?;
                Ok(regexp_replace(re, values.iter().map(String::as_str), repl))
            }
        }
    }
}

/// The local part of an address, as Teleport's `email.local` takes it
/// (lib/utils/parse/ast.go `EmailLocalExpr`): Go's `mail.ParseAddress`
/// (see `email_address`), then what comes before the first `@` of the
/// parsed address. `jerry@example.com`, `Jerry <jerry@example.com>` →
/// `jerry`; `jerry@@example.com` is an error.
pub(crate) fn email_local(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("email.local: found an empty argument".to_owned());
    }
    let address = parse_address(value)
        .map_err(|e| format!("email.local: {value:?} is not an email address ({e})"))?;
    match address.split_once('@') {
        Some((local, _)) => Ok(local.to_owned()),
        None => Err(format!("email.local: no local part in {value:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_value_is_parsed_once_and_errors_are_kept_too() {
        let a = cached_template("pre-{{internal.logins}}");
        assert!(Arc::ptr_eq(&a, &cached_template("pre-{{internal.logins}}")));
        assert!(matches!(&*a, Ok(Some(_))));
        let bad = cached_template("{{internal.logins");
        assert!(matches!(&*bad, Err(TemplateError::Invalid(_))));
        assert!(Arc::ptr_eq(&bad, &cached_template("{{internal.logins")));
    }
}

//! Evaluation of a type-checked expression.

use super::go_case::{to_lower, to_upper};
use super::{Env, Func, Node};
use crate::policy::go_replace::regexp_replace;
use crate::policy::labels::{check_value_pattern, match_value};
use crate::policy::regex_cache::cached_regex;
use crate::policy::traits::email_local;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    Bool(bool),
    Str(String),
    Int(i64),
    List(Vec<String>),
}

pub(super) fn eval(node: &Node, env: &Env<'_>) -> Result<Value, String> {
    Ok(match node {
        Node::Str(s) => Value::Str(s.clone()),
        Node::Int(n) => Value::Int(*n),
        Node::Label(key) => {
            let key = string(eval(key, env)?)?;
            Value::Str(env.labels.get(&key).cloned().unwrap_or_default())
        }
        Node::Trait(key) => {
            let key = string(eval(key, env)?)?;
            Value::List(env.traits.get(&key).map(|v| v.to_vec()).unwrap_or_default())
        }
        Node::ToList(inner) => Value::List(vec![string(eval(inner, env)?)?]),
        Node::Not(inner) => Value::Bool(!boolean(eval(inner, env)?)?),
        Node::And(l, r) => Value::Bool(boolean(eval(l, env)?)? && boolean(eval(r, env)?)?),
        Node::Or(l, r) => Value::Bool(boolean(eval(l, env)?)? || boolean(eval(r, env)?)?),
        Node::Eq {
            negate,
            left,
            right,
        } => Value::Bool((eval(left, env)? == eval(right, env)?) != *negate),
        Node::Call(func, args) => {
            let args = args
                .iter()
                .map(|a| eval(a, env))
                .collect::<Result<Vec<_>, _>>()?;
            call(*func, args, env)?
        }
    })
}

fn boolean(v: Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(b),
        other => Err(format!("expected a boolean, got {other:?}")),
    }
}

fn string(v: Value) -> Result<String, String> {
    match v {
        Value::Str(s) => Ok(s),
        other => Err(format!("expected a string, got {other:?}")),
    }
}

fn list(v: Value) -> Result<Vec<String>, String> {
    match v {
        Value::List(l) => Ok(l),
        other => Err(format!("expected a list, got {other:?}")),
    }
}

fn call(func: Func, args: Vec<Value>, env: &Env<'_>) -> Result<Value, String> {
    let mut args = args.into_iter();
    let mut next = || args.next().ok_or_else(|| "missing argument".to_owned());
    Ok(match func {
        Func::Set => {
            let mut out = Vec::new();
            while let Ok(v) = next() {
                out.push(string(v)?);
            }
            Value::List(out)
        }
        Func::LabelsMatching => {
            let pattern = string(next()?)?;
            let mut out = Vec::new();
            for (key, value) in env.labels {
                if match_value(&pattern, key)? {
                    out.push(value.clone());
                }
            }
            Value::List(out)
        }
        Func::Contains => {
            let (l, item) = (list(next()?)?, string(next()?)?);
            Value::Bool(l.contains(&item))
        }
        Func::ContainsAny => {
            let (l, items) = (list(next()?)?, list(next()?)?);
            Value::Bool(items.iter().any(|i| l.contains(i)))
        }
        Func::ContainsAll => {
            let (l, items) = (list(next()?)?, list(next()?)?);
            Value::Bool(!items.is_empty() && items.iter().all(|i| l.contains(i)))
        }
        Func::RegexpMatch => {
            let (l, pattern) = (list(next()?)?, string(next()?)?);
            // Teleport's RegexMatchesAny compiles first: an invalid regex is
            // an error even for an empty list.
            check_value_pattern(&pattern)?;
            let mut hit = false;
            for v in &l {
                if match_value(&pattern, v)? {
                    hit = true;
                    break;
                }
            }
            Value::Bool(hit)
        }
        Func::RegexpReplace => {
            let (l, pattern, repl) = (list(next()?)?, string(next()?)?, string(next()?)?);
            let re = cached_regex(&pattern)?;
            // lib/services/parser.go registers lib/utils/parse's
            // `RegexpReplace`, as role templates use it.
            Value::List(regexp_replace(&re, l.iter().map(String::as_str), &repl))
        }
        Func::EmailLocal => Value::List(
            list(next()?)?
                .iter()
                .map(|v| email_local(v))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter(|v| !v.is_empty())
                .collect(),
        ),
        Func::Upper => Value::List(list(next()?)?.iter().map(|v| to_upper(v)).collect()),
        Func::Lower => Value::List(list(next()?)?.iter().map(|v| to_lower(v)).collect()),
    })
}

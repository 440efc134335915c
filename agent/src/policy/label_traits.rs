//! Teleport's `applyLabelsTraits` (lib/services/role.go): a role's
//! `node_labels` with a user's traits applied, for `applied_role` and for
//! the labels every user of a role shares (`node_label_cache`).

use super::labels::Labels;
use super::resources::Traits;
use super::traits::{interpolate, is_template, TemplateError};

/// What a failed template does to its key or value, as noted in reasons.
pub(super) fn template_note(role: &str, field: &str, e: &TemplateError) -> String {
    let effect = match e {
        TemplateError::NoValue(_) => "dropped",
        TemplateError::Invalid(_) => "dropped (invalid template or unsupported variable)",
    };
    format!("role {role} {field}: {e}; {effect}")
}

/// `selector` with `traits` applied: keys take their first value; a key or
/// a value whose template fails becomes the empty string (an empty key no
/// node has, so the selector cannot match); values are kept once each, in
/// order. What was dropped is noted in `notes`.
pub(super) fn apply_label_traits(
    role: &str,
    field: &str,
    selector: &Labels,
    traits: &Traits,
    notes: &mut Vec<String>,
) -> Labels {
    let mut out = Labels::new();
    for (key, list) in selector {
        let key = match interpolate(key, traits) {
            Ok(keys) => keys.into_iter().next().unwrap_or_default(),
            Err(e) => {
                notes.push(template_note(role, &format!("{field} key"), &e));
                String::new()
            }
        };
        let mut values: Vec<String> = Vec::new();
        for v in list {
            let expanded = interpolate(v, traits).unwrap_or_else(|e| {
                notes.push(template_note(role, field, &e));
                vec![String::new()]
            });
            for x in expanded {
                if !values.contains(&x) {
                    values.push(x);
                }
            }
        }
        out.insert(key, values);
    }
    out
}

/// Whether no key or value of `selector` is a template
/// ([`is_template`], the test `traits::interpolate` makes), so that
/// applying any user's traits gives the same selector and notes nothing.
pub(super) fn is_literal(selector: &Labels) -> bool {
    selector
        .iter()
        .all(|(key, values)| !is_template(key) && values.iter().all(|v| !is_template(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &[&str])]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn a_selector_is_literal_only_without_template_braces() {
        assert!(is_literal(&labels(&[
            ("env", &["prod", "dev"]),
            ("*", &["*"])
        ])));
        assert!(is_literal(&Labels::new()));
        assert!(!is_literal(&labels(&[("{{external.team}}", &["x"])])));
        assert!(!is_literal(&labels(&[(
            "team",
            &["a", "{{internal.team}}"]
        )])));
        // A half template is an invalid template, not a literal.
        assert!(!is_literal(&labels(&[("team", &["external.team}}"])])));
    }

    #[test]
    fn a_literal_selector_is_the_same_for_every_user() {
        let selector = labels(&[("env", &["prod", "prod", "dev"]), ("tier", &["web"])]);
        let someone: std::collections::BTreeMap<String, Vec<String>> =
            [("logins".to_owned(), vec!["alice".to_owned()])].into();
        let mut notes = Vec::new();
        let empty = apply_label_traits("r", "allow", &selector, &Traits::default(), &mut notes);
        let theirs =
            apply_label_traits("r", "allow", &selector, &Traits::from(&someone), &mut notes);
        assert_eq!(empty, theirs);
        assert_eq!(
            empty,
            labels(&[("env", &["prod", "dev"]), ("tier", &["web"])])
        );
        assert!(notes.is_empty(), "{notes:?}");
    }
}

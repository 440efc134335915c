//! Teleport's `applyLabelsTraits` (lib/services/role.go): a role's
//! `node_labels` with a user's traits applied, for `applied_role` and for
//! the labels every user of a role shares (`node_label_cache`).

use super::labels::{AppliedLabels, Labels, Side};
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
///
/// Several keys may become one label (a template giving a literal key, or
/// two templates the same). Teleport's `applyLabelsTraits` then replaces
/// the label's values with each key's in turn, in Go's random map order,
/// so the label ends with the values of any one of those keys: all of them
/// are kept ([`AppliedLabels::alternatives`]) and matching takes the
/// stricter outcome for the side (`labels::match_applied`).
pub(super) fn apply_label_traits(
    role: &str,
    side: Side,
    selector: &Labels,
    traits: &Traits,
    notes: &mut Vec<String>,
) -> AppliedLabels {
    let field = side.field();
    let mut out = AppliedLabels::default();
    for (source, list) in selector {
        let key = match label_key(source, traits) {
            Ok(key) => key,
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
        match out.selector.get(&key) {
            None => {
                out.selector.insert(key, values);
            }
            Some(first) if *first == values => {}
            Some(_) => {
                let others = out.alternatives.entry(key).or_default();
                if !others.contains(&values) {
                    others.push(values);
                }
            }
        }
    }
    for label in out.alternatives.keys().filter(|label| !label.is_empty()) {
        let keys: Vec<String> = selector
            .keys()
            .filter(|k| label_key(k, traits).is_ok_and(|key| key == *label))
            .map(|k| format!("{k:?}"))
            .collect();
        let stricter = match side {
            Side::Allow => "the node must match the values of each",
            Side::Deny => "a node matching the values of any one is denied",
        };
        notes.push(format!(
            "role {role} {field}: keys {} become one label {label:?}, with different values; Teleport keeps the values of one of them, whichever it writes last (applyLabelsTraits walks a Go map, in random order), so {stricter}",
            keys.join(" and ")
        ));
    }
    out
}

/// The label a key of a selector becomes: its template's first value (the
/// empty string when there is none).
fn label_key(key: &str, traits: &Traits) -> Result<String, TemplateError> {
    interpolate(key, traits).map(|keys| keys.into_iter().next().unwrap_or_default())
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
    use crate::policy::labels::Alternatives;

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
        let empty = apply_label_traits("r", Side::Allow, &selector, &Traits::default(), &mut notes);
        let theirs = apply_label_traits(
            "r",
            Side::Allow,
            &selector,
            &Traits::from(&someone),
            &mut notes,
        );
        assert_eq!(empty, theirs);
        assert_eq!(
            empty,
            AppliedLabels::from(labels(&[("env", &["prod", "dev"]), ("tier", &["web"])]))
        );
        assert!(notes.is_empty(), "{notes:?}");
    }

    /// lib/services/role.go `applyLabelsTraits` sets
    /// `outLabels[keyVars[0]]` to each key's values in Go's random map
    /// order: keys that become one label leave it with the values of any
    /// one of them. Each list is kept (once), with a note naming the keys;
    /// keys whose template fails (the empty label) are noted already.
    #[test]
    fn keys_that_become_one_label_keep_each_value_list() {
        let traits: std::collections::BTreeMap<String, Vec<String>> = [
            ("k", &["env"][..]),
            ("j", &["env", "tier"]),
            ("t", &["tier"]),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect();
        let traits = Traits::from(&traits);
        let lists = |l: &[&[&str]]| -> Vec<Vec<String>> {
            l.iter()
                .map(|v| v.iter().map(|s| s.to_string()).collect())
                .collect()
        };
        type Case<'a> = (
            Labels,
            Labels,
            &'a [(&'a str, &'a [&'a [&'a str]])],
            &'a [&'a str],
        );
        let cases: Vec<Case<'_>> = vec![
            (
                labels(&[("env", &["prod"]), ("{{external.k}}", &["dev"])]),
                labels(&[("env", &["prod"])]),
                &[("env", &[&["dev"]])],
                &["keys \"env\" and \"{{external.k}}\" become one label \"env\""],
            ),
            (
                labels(&[
                    ("{{external.j}}", &["a"]),
                    ("{{external.k}}", &["b", "a", "b"]),
                ]),
                labels(&[("env", &["a"])]),
                &[("env", &[&["b", "a"]])],
                &["keys \"{{external.j}}\" and \"{{external.k}}\" become one label \"env\""],
            ),
            (
                labels(&[
                    ("env", &["x"]),
                    ("{{external.j}}", &["y"]),
                    ("{{external.k}}", &["x"]),
                ]),
                labels(&[("env", &["x"])]),
                &[("env", &[&["y"]])],
                &["keys \"env\" and \"{{external.j}}\" and \"{{external.k}}\" become"],
            ),
            // the same values: nothing to choose between
            (
                labels(&[("env", &["prod"]), ("{{external.k}}", &["prod"])]),
                labels(&[("env", &["prod"])]),
                &[],
                &[],
            ),
            (
                labels(&[("env", &["prod"]), ("{{external.t}}", &["web"])]),
                labels(&[("env", &["prod"]), ("tier", &["web"])]),
                &[],
                &[],
            ),
            (
                labels(&[("{{external.none}}", &["a"]), ("{{external.gone}}", &["b"])]),
                labels(&[("", &["b"])]),
                &[("", &[&["a"]])],
                &["trait \"gone\" is missing", "trait \"none\" is missing"],
            ),
        ];
        for (selector, want, alternatives, noted) in cases {
            let mut notes = Vec::new();
            let got = apply_label_traits("r", Side::Deny, &selector, &traits, &mut notes);
            assert_eq!(got.selector, want, "{selector:?}");
            let alternatives: Alternatives = alternatives
                .iter()
                .map(|(k, l)| (k.to_string(), lists(l)))
                .collect();
            assert_eq!(got.alternatives, alternatives, "{selector:?}");
            assert_eq!(notes.len(), noted.len(), "{notes:?}");
            for (note, want) in notes.iter().zip(noted) {
                assert!(note.contains(want), "{note} / {want}");
            }
        }
    }
}

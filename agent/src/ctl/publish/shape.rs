//! One field's fate in the allowlist ([`Shape`]), and what happens to the
//! members a mapping does not name ([`Unknown`]).

/// What happens to one field.
#[derive(Debug)]
pub(crate) enum Shape {
    /// Copied as it is: the agent reads it, and it is public by nature
    /// (names, labels, traits, public keys, certificates).
    Keep,
    /// Copied, after the key-material check (an open mapping whose entries
    /// this table does not name, e.g. a lock target's newer fields).
    KeepChecked,
    /// A known secret: dropped, and counted.
    Secret,
    /// Known, public, and not used by the agent: dropped.
    Drop,
    /// A secret the agent only compares: published as its SHA-256
    /// (lowercase hex) under the name given, never in clear.
    Sha256As(&'static str),
    /// A mapping: the named members by their shape; any other member is
    /// unknown and handled as `unknown` says.
    Map(&'static [(&'static str, Shape)], Unknown),
    /// A list whose every element has this shape.
    Each(&'static Shape),
}

/// A member a [`Shape::Map`] does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unknown {
    /// Checked for key material, then dropped.
    CheckAndDrop,
    /// Checked for key material; copied as the word `withheld` when set
    /// (a lock target the host cannot judge: that it is set matters to
    /// the agent, its value may be a secret).
    CheckAndMask,
}

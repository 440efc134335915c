//! The error every loader returns: where (file, line, column) and what.

use std::fmt;

/// A bundle that cannot be loaded. Never partial: a bundle with one bad
/// document is rejected as a whole, so a good policy is never replaced by half
/// of a broken one.
///
/// Displays as `FILE:LINE:COLUMN: message`, `FILE:LINE: message` or
/// `FILE: message`, depending on what is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The origin given to the loader: a path, or a name such as `<stdin>`.
    pub file: String,
    /// 1-based line in `file`.
    pub line: Option<u64>,
    /// 1-based column in `line`.
    pub column: Option<u64>,
    /// What is wrong, without the position.
    pub message: String,
}

impl PolicyError {
    /// An error that concerns a whole file (unreadable, not UTF-8, ...).
    pub fn in_file(file: impl Into<String>, message: impl Into<String>) -> Self {
        PolicyError {
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// An error at a known position.
    pub fn at(file: impl Into<String>, line: u64, column: u64, message: impl Into<String>) -> Self {
        PolicyError {
            file: file.into(),
            line: Some(line),
            column: Some(column),
            message: message.into(),
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "{}:{}:{}: {}", self.file, line, column, self.message)
            }
            (Some(line), None) => write!(f, "{}:{}: {}", self.file, line, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for PolicyError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_forms() {
        let cases = [
            (PolicyError::at("a.yaml", 3, 7, "bad"), "a.yaml:3:7: bad"),
            (
                PolicyError::in_file("a.yaml", "unreadable"),
                "a.yaml: unreadable",
            ),
            (
                PolicyError {
                    file: "b.json".into(),
                    line: Some(2),
                    column: None,
                    message: "dup".into(),
                },
                "b.json:2: dup",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }
}

//! Tenant names: what a tenant folder may be called, since the name becomes a
//! Socket.IO namespace and a folder under the data directory.

/// Longest tenant name: a DNS label's length, so a name also fits in a
/// subdomain.
pub const MAX_LEN: usize = 63;

/// Why a name cannot be a tenant's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing at all.
    #[error("a tenant name cannot be empty")]
    Empty,
    /// Longer than [`MAX_LEN`] bytes.
    #[error("tenant name is {0} bytes long; at most {MAX_LEN} are allowed")]
    TooLong(usize),
    /// `.` or `..`, or anything else that starts with a dot.
    #[error("tenant name {0:?} starts with a dot")]
    Dot(String),
    /// It holds a path separator.
    #[error("tenant name {0:?} contains a slash")]
    Slash(String),
    /// It holds some other character outside `a-z 0-9 - _`.
    #[error("tenant name {name:?} contains {found:?}; use lowercase letters, digits, '-' and '_'")]
    Character {
        /// The name.
        name: String,
        /// The first character not allowed.
        found: char,
    },
    /// It starts with `-` or `_`.
    #[error("tenant name {0:?} must start with a letter or a digit")]
    Start(String),
}

/// Checks that `name` is a valid tenant name: 1 to 63 of `a-z 0-9 - _`,
/// starting with a letter or a digit.
pub fn validate(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_LEN {
        return Err(NameError::TooLong(name.len()));
    }
    if name.starts_with('.') {
        return Err(NameError::Dot(name.to_owned()));
    }
    if name.contains(['/', '\\']) {
        return Err(NameError::Slash(name.to_owned()));
    }
    if let Some(found) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Err(NameError::Character {
            name: name.to_owned(),
            found,
        });
    }
    if name.starts_with(['-', '_']) {
        return Err(NameError::Start(name.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_and_path_tricks_are_named() {
        for good in ["acme", "a", "team-7", "x_y", "0day"] {
            assert_eq!(validate(good), Ok(()), "{good}");
        }
        assert_eq!(validate(""), Err(NameError::Empty));
        assert_eq!(validate(".."), Err(NameError::Dot("..".into())));
        assert_eq!(validate(".hidden"), Err(NameError::Dot(".hidden".into())));
        assert_eq!(validate("a/b"), Err(NameError::Slash("a/b".into())));
        assert_eq!(validate("a\\b"), Err(NameError::Slash("a\\b".into())));
        assert_eq!(validate(&"a".repeat(64)), Err(NameError::TooLong(64)));
        assert_eq!(validate(&"a".repeat(63)), Ok(()));
        assert!(matches!(
            validate("Acme"),
            Err(NameError::Character { found: 'A', .. })
        ));
        assert!(matches!(
            validate("a b"),
            Err(NameError::Character { found: ' ', .. })
        ));
        assert_eq!(validate("-x"), Err(NameError::Start("-x".into())));
    }
}

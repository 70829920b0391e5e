//! The error a view returns: a code the client acts on and a message it shows.

use std::fmt;

use crate::bindings::halo::view::types as wit;

/// `Result` with the SDK's [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, as the client sees it: the host sends it as the ack's
/// first argument, `{"code": "<code>", "message": "<message>"}`.
///
/// Returning it from a handler also discards every write the handler made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: String,
}

/// Machine-readable kind of an [`Error`], sent as `code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The client may not do this (`forbidden`).
    Forbidden,
    /// The model does not exist, or is hidden from this client (`not_found`).
    NotFound,
    /// The data is malformed or breaks a rule of the view (`invalid`).
    Invalid,
    /// The view cannot serve the request right now (`unavailable`).
    Unavailable,
}

impl Error {
    /// An error with `code` and a human-readable `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The client may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// The model does not exist, or is hidden from this client.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// The data is malformed or breaks a rule of the view.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Invalid, message)
    }

    /// The view cannot serve the request right now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }

    /// The kind of error.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human-readable explanation the client receives.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl ErrorCode {
    /// The code as the client receives it, e.g. `"not_found"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Invalid => "invalid",
            Self::Unavailable => "unavailable",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

/// Data that does not deserialize is the client's fault: `invalid`.
impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::invalid(err.to_string())
    }
}

impl From<wit::ErrorCode> for ErrorCode {
    fn from(code: wit::ErrorCode) -> Self {
        match code {
            wit::ErrorCode::Forbidden => Self::Forbidden,
            wit::ErrorCode::NotFound => Self::NotFound,
            wit::ErrorCode::Invalid => Self::Invalid,
            wit::ErrorCode::Unavailable => Self::Unavailable,
        }
    }
}

impl From<ErrorCode> for wit::ErrorCode {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::Forbidden => Self::Forbidden,
            ErrorCode::NotFound => Self::NotFound,
            ErrorCode::Invalid => Self::Invalid,
            ErrorCode::Unavailable => Self::Unavailable,
        }
    }
}

impl From<wit::Error> for Error {
    fn from(err: wit::Error) -> Self {
        Self::new(err.code.into(), err.message)
    }
}

impl From<Error> for wit::Error {
    fn from(err: Error) -> Self {
        Self {
            code: err.code.into(),
            message: err.message,
        }
    }
}

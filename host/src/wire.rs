//! The error a client sees as the ack's first argument: `{code, message}`.

use serde::Serialize;

/// Machine-readable error kinds of the wire protocol (docs/protocol.md, "Errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The route is not allowed, or the view refused the request.
    Forbidden,
    /// The model does not exist, or is hidden from this client.
    NotFound,
    /// The data is malformed.
    Invalid,
    /// No view of that name is loaded.
    UnknownView,
    /// The view trapped, ran out of time or memory.
    PluginFailed,
    /// The host cannot serve the request right now (store or capacity).
    Unavailable,
    /// The handshake's token is missing, malformed, expired or not for this
    /// tenant.
    Unauthorized,
    /// One of the tenant's limits was reached; `limit` names which.
    LimitExceeded,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Invalid => "invalid",
            Self::UnknownView => "unknown_view",
            Self::PluginFailed => "plugin_failed",
            Self::Unavailable => "unavailable",
            Self::Unauthorized => "unauthorized",
            Self::LimitExceeded => "limit_exceeded",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as sent to a client. Never carries internal detail: that goes to
/// the host's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct WireError {
    /// What kind of error this is.
    pub code: ErrorCode,
    /// A human-readable explanation, safe to show to the client.
    pub message: String,
    /// For `limit_exceeded`: the tenant.toml key of the limit reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<&'static str>,
}

impl WireError {
    /// An error of `code` with `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            limit: None,
        }
    }

    /// `limit_exceeded` for the limit named `limit` (its tenant.toml key).
    pub fn limit(limit: &'static str, message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::LimitExceeded,
            message: message.into(),
            limit: Some(limit),
        }
    }

    /// `unauthorized` with `message`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    /// `forbidden` with `message`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// `not_found` with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// `invalid` with `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Invalid, message)
    }

    /// `unavailable` with `message`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }
}

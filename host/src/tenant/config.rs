//! `tenant.toml`: a tenant's limits and how it authenticates connections.
//! Every key is optional; a limit left out takes the host's default.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::store::Durability;
use crate::view::Limits;

/// A tenant's limits, every one enforced per tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantLimits {
    /// The sandbox limits of its views (`memory_mib`, `deadline_ms`,
    /// `instances`).
    pub sandbox: Limits,
    /// Connections open at once (`connections`).
    pub connections: usize,
    /// Largest request data, in bytes (`max_payload`).
    pub max_payload: u64,
    /// Requests per second per connection, also the burst allowed
    /// (`requests_per_second`).
    pub requests_per_second: u32,
    /// Bytes its store may hold: collection, id and JSON of every model
    /// (`stored_bytes`).
    pub stored_bytes: u64,
    /// When a write counts as done and is released (`durability`, at the
    /// top of tenant.toml: not a limit, but set per tenant like them).
    pub durability: Durability,
}

impl Default for TenantLimits {
    fn default() -> Self {
        Self {
            sandbox: Limits::default(),
            connections: 10_000,
            max_payload: 1_000_000,
            // Far above what a person's app sends, and above what one
            // connection's requests, served one at a time, reach on a fast
            // host; a tenant that serves scripts should set its own.
            requests_per_second: 10_000,
            stored_bytes: 1 << 30,
            durability: Durability::Disk,
        }
    }
}

/// The `[limits]` table, with every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    memory_mib: Option<u32>,
    deadline_ms: Option<u64>,
    instances: Option<u32>,
    connections: Option<u32>,
    max_payload: Option<u64>,
    requests_per_second: Option<u32>,
    stored_bytes: Option<u64>,
}

/// Signing algorithms a tenant may choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Algorithm {
    /// HMAC with SHA-256 and a shared `secret`.
    HS256,
    /// RSA with SHA-256, verified with a `public_key`.
    RS256,
    /// Ed25519, verified with a `public_key`.
    EdDSA,
}

/// The `[auth]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// How tokens are signed.
    pub algorithm: Algorithm,
    /// The HS256 shared secret.
    pub secret: Option<String>,
    /// The RS256 or EdDSA public key, PEM.
    pub public_key: Option<String>,
    /// A file holding the public key, relative to the tenant folder.
    pub public_key_file: Option<PathBuf>,
    /// What the token's `aud` must contain.
    pub audience: String,
    /// What the token's `iss` must be, if set.
    pub issuer: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
}

fn default_leeway() -> u64 {
    60
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    limits: LimitsFile,
    durability: Option<Durability>,
    auth: Option<AuthConfig>,
}

/// A tenant's settings.
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// Its limits.
    pub limits: TenantLimits,
    /// How connections prove who they are; `None` takes the handshake's
    /// `auth` object as unverified claims.
    pub auth: Option<AuthConfig>,
}

/// Why a tenant.toml was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It could not be read.
    #[error("cannot read {path}: {cause}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// It is not valid TOML, has an unknown key or a bad value.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with where.
        message: String,
    },
    /// A value is out of range or a required key is missing.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl TenantConfig {
    /// Reads `path`; a missing file means every default.
    pub fn load(path: &Path, defaults: TenantLimits) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    cause: source,
                });
            }
        };
        Self::parse(&text, path, defaults)
    }

    /// Parses the text of `path`.
    pub fn parse(text: &str, path: &Path, defaults: TenantLimits) -> Result<Self, ConfigError> {
        let file: File = toml::from_str(text).map_err(|err| ConfigError::Parse {
            path: path.to_owned(),
            message: err.to_string(),
        })?;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        let positive = |key: &str, value: u64| {
            if value == 0 {
                Err(invalid(format!("limits.{key} must be at least 1")))
            } else {
                Ok(value)
            }
        };
        let l = file.limits;
        let mut limits = defaults;
        if let Some(mib) = l.memory_mib {
            positive("memory_mib", mib.into())?;
            if mib > 4096 {
                return Err(invalid("limits.memory_mib may be at most 4096".into()));
            }
            limits.sandbox.memory_bytes = (mib as usize) << 20;
        }
        if let Some(ms) = l.deadline_ms {
            positive("deadline_ms", ms)?;
            if ms > 60_000 {
                return Err(invalid("limits.deadline_ms may be at most 60000".into()));
            }
            limits.sandbox.cpu_deadline = Duration::from_millis(ms);
        }
        if let Some(n) = l.instances {
            limits.sandbox.max_instances = positive("instances", n.into())? as usize;
        }
        if let Some(n) = l.connections {
            limits.connections = positive("connections", n.into())? as usize;
        }
        if let Some(n) = l.max_payload {
            limits.max_payload = positive("max_payload", n)?;
        }
        if let Some(n) = l.requests_per_second {
            limits.requests_per_second = positive("requests_per_second", n.into())? as u32;
        }
        if let Some(n) = l.stored_bytes {
            limits.stored_bytes = positive("stored_bytes", n)?;
        }
        if let Some(durability) = file.durability {
            limits.durability = durability;
        }
        if let Some(auth) = &file.auth {
            let keyed = auth.public_key.is_some() || auth.public_key_file.is_some();
            match auth.algorithm {
                Algorithm::HS256 if auth.secret.as_deref().is_none_or(str::is_empty) => {
                    return Err(invalid("auth.secret is required for HS256".into()));
                }
                Algorithm::RS256 | Algorithm::EdDSA if !keyed => {
                    return Err(invalid(format!(
                        "auth.public_key or auth.public_key_file is required for {:?}",
                        auth.algorithm
                    )));
                }
                _ => {}
            }
            if auth.audience.is_empty() {
                return Err(invalid("auth.audience cannot be empty".into()));
            }
            if auth.leeway_secs > 600 {
                return Err(invalid("auth.leeway_secs may be at most 600".into()));
            }
        }
        Ok(Self {
            limits,
            auth: file.auth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TenantConfig, ConfigError> {
        TenantConfig::parse(text, Path::new("tenant.toml"), TenantLimits::default())
    }

    #[test]
    fn an_empty_file_takes_every_default() {
        let config = parse("").expect("parses");
        assert_eq!(config.limits, TenantLimits::default());
        assert!(config.auth.is_none());
    }

    #[test]
    fn limits_override_defaults_one_by_one() {
        let config = parse("[limits]\nconnections = 3\nmemory_mib = 8\n").expect("parses");
        assert_eq!(config.limits.connections, 3);
        assert_eq!(config.limits.sandbox.memory_bytes, 8 << 20);
        assert_eq!(
            config.limits.requests_per_second,
            TenantLimits::default().requests_per_second
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = parse("[limits]\nconections = 3\n").expect_err("typo");
        assert!(err.to_string().contains("conections"), "{err}");
        let err = parse("[limits]\nconnections = 0\n").expect_err("zero");
        assert!(err.to_string().contains("limits.connections"), "{err}");
        let err = parse("[auth]\nalgorithm = \"HS256\"\naudience = \"a\"\n").expect_err("secret");
        assert!(err.to_string().contains("auth.secret"), "{err}");
        let err = parse("[auth]\nalgorithm = \"none\"\naudience = \"a\"\n").expect_err("alg");
        assert!(err.to_string().contains("none"), "{err}");
    }
}

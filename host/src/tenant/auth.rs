//! Verifies the signed token a tenant may require in the handshake's `auth`
//! (`{ token: "<JWT>" }`), and turns it into the claims views see.

use std::path::Path;

use jsonwebtoken::{DecodingKey, Validation, decode, errors::ErrorKind};
use serde_json::{Map, Value};

use super::config::{Algorithm, AuthConfig};

/// Largest public key file read.
const MAX_KEY_BYTES: u64 = 64 << 10;

/// Why a verifier could not be built from `[auth]`.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read.
    #[error("cannot read auth.public_key_file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The key is not a PEM key of the algorithm's kind.
    #[error("auth public key is not a valid {algorithm:?} PEM public key: {message}")]
    Pem {
        /// The algorithm it was meant for.
        algorithm: Algorithm,
        /// What the parser said.
        message: String,
    },
}

/// Checks handshake tokens for one tenant.
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("algorithms", &self.validation.algorithms)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for `config`; a key file is read relative to `dir`.
    pub fn new(config: &AuthConfig, dir: &Path) -> Result<Self, KeyError> {
        let pem = || -> Result<Vec<u8>, KeyError> {
            match (&config.public_key, &config.public_key_file) {
                (Some(pem), _) => Ok(pem.as_bytes().to_vec()),
                (None, Some(file)) => {
                    let path = dir.join(file);
                    let read = |source| KeyError::Read {
                        path: path.display().to_string(),
                        source,
                    };
                    // A PEM public key is a few KiB; never read a device or
                    // a huge file named by mistake.
                    let meta = std::fs::metadata(&path).map_err(read)?;
                    let len = meta.len();
                    if !meta.is_file() || len > MAX_KEY_BYTES {
                        return Err(read(std::io::Error::other(format!(
                            "not a regular file of at most {MAX_KEY_BYTES} bytes ({len})"
                        ))));
                    }
                    std::fs::read(&path).map_err(read)
                }
                // The config check requires one of them.
                (None, None) => Ok(Vec::new()),
            }
        };
        let bad = |err: jsonwebtoken::errors::Error| KeyError::Pem {
            algorithm: config.algorithm,
            message: err.to_string(),
        };
        let (key, algorithm) = match config.algorithm {
            Algorithm::HS256 => (
                DecodingKey::from_secret(config.secret.as_deref().unwrap_or_default().as_bytes()),
                jsonwebtoken::Algorithm::HS256,
            ),
            Algorithm::RS256 => (
                DecodingKey::from_rsa_pem(&pem()?).map_err(bad)?,
                jsonwebtoken::Algorithm::RS256,
            ),
            Algorithm::EdDSA => (
                DecodingKey::from_ed_pem(&pem()?).map_err(bad)?,
                jsonwebtoken::Algorithm::EdDSA,
            ),
        };
        // One algorithm only: a token cannot pick a weaker one for itself.
        let mut validation = Validation::new(algorithm);
        validation.set_audience(&[&config.audience]);
        // Without requiring it, a token with no `iss` at all would pass.
        if let Some(issuer) = &config.issuer {
            validation.set_issuer(&[issuer]);
            validation.set_required_spec_claims(&["exp", "aud", "iss"]);
        } else {
            validation.set_required_spec_claims(&["exp", "aud"]);
        }
        validation.validate_nbf = true;
        validation.leeway = config.leeway_secs;
        Ok(Self { key, validation })
    }

    /// The verified claims of the handshake's `auth`, or why it is refused,
    /// in words a client may see.
    pub fn verify(&self, auth: Option<&Value>) -> Result<Map<String, Value>, String> {
        let token = auth
            .and_then(|auth| auth.get("token"))
            .ok_or("this tenant requires a token: connect with auth { token: \"<JWT>\" }")?
            .as_str()
            .ok_or("auth.token must be a string")?;
        match decode::<Map<String, Value>>(token, &self.key, &self.validation) {
            Ok(data) => Ok(data.claims),
            Err(err) => Err(match err.kind() {
                ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
                ErrorKind::ImmatureSignature => "the token is not valid yet".to_owned(),
                ErrorKind::InvalidAudience => "the token is not for this tenant (aud)".to_owned(),
                ErrorKind::InvalidIssuer => "the token has the wrong issuer (iss)".to_owned(),
                ErrorKind::InvalidSignature => "the token's signature is invalid".to_owned(),
                ErrorKind::InvalidAlgorithm => {
                    "the token is signed with an algorithm this tenant does not accept".to_owned()
                }
                ErrorKind::MissingRequiredClaim(claim) => {
                    format!("the token has no {claim:?} claim")
                }
                _ => "the token is malformed".to_owned(),
            }),
        }
    }
}

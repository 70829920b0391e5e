//! Why a store operation failed, and what a client is told of it.

use crate::wire::WireError;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A merge named a model that does not exist (any more).
    #[error("model {id:?} of collection {collection:?} does not exist")]
    NotFound {
        /// Collection of the model.
        collection: String,
        /// Id of the model.
        id: String,
    },
    /// A create used an id that is taken.
    #[error("model {id:?} of collection {collection:?} exists already")]
    Exists {
        /// Collection of the model.
        collection: String,
        /// Id of the model.
        id: String,
    },
    /// A stored body is not a JSON object (the database was edited by hand).
    #[error("stored model {id:?} of collection {collection:?} is not a JSON object")]
    Corrupt {
        /// Collection of the model.
        collection: String,
        /// Id of the model.
        id: String,
    },
    /// The database behind the store failed.
    #[error("the database failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A transaction wrote more than a request may.
    #[error("a transaction may write at most {0} times")]
    TooLarge(usize),
    /// The transaction would take the store past its quota of stored bytes.
    #[error("the tenant's store is full: it may hold at most {0} bytes")]
    Quota(u64),
    /// The batch this transaction was committed in failed as a whole.
    #[error("commit failed: {0}")]
    Commit(String),
    /// An earlier transaction this one may have read was refused.
    #[error("an earlier transaction was refused, and this one may depend on it")]
    Aborted,
    /// Another node committed to the tenant after this transaction's reads:
    /// run it again on the state as it is now.
    #[error("another node changed the tenant's data meanwhile")]
    Conflict,
    /// The transaction's client operation was applied already.
    #[error("operation {0:?} was applied already")]
    Repeated(String),
    /// The store's writer is gone (the host is shutting down).
    #[error("the store is closed")]
    Closed,
}

impl From<StoreError> for WireError {
    /// What a client is told; the details of a failing database stay in the
    /// log.
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { id, .. } => {
                WireError::not_found(format!("no model with id {id:?}"))
            }
            StoreError::Quota(max) => WireError::limit(
                "stored_bytes",
                format!(
                    "the tenant's store is full (it may hold {max} bytes); delete models to make room"
                ),
            ),
            StoreError::TooLarge(_) => WireError::invalid(err.to_string()),
            other => {
                tracing::error!(cause = %other, "store failed");
                WireError::unavailable("the store is unavailable, try again")
            }
        }
    }
}

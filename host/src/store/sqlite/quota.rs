//! A store's quota of stored bytes: what is used of it, and what one
//! write may still take.

use crate::store::StoreError;

/// The stored-bytes quota of a store, and what is used of it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Quota {
    pub max: u64,
    pub used: i64,
}

impl Quota {
    /// Bytes the store may still grow by.
    pub(super) fn left(&self) -> i64 {
        i64::try_from(self.max)
            .unwrap_or(i64::MAX)
            .saturating_sub(self.used)
    }
}

/// What a one-statement transaction may grow the store by, checked before
/// the statement runs, and the quota to name when it may not.
#[derive(Debug, Clone, Copy)]
pub(super) struct Allowance {
    pub left: i64,
    pub max: u64,
}

impl Allowance {
    /// Refuses a statement that would grow the store by `grown` bytes
    /// past what is left.
    pub(super) fn check(allowance: Option<Self>, grown: i64) -> Result<(), StoreError> {
        match allowance {
            Some(allowance) if grown > 0 && grown > allowance.left => {
                Err(StoreError::Quota(allowance.max))
            }
            _ => Ok(()),
        }
    }
}

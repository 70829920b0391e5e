//! Why a component was refused, or a call into a view produced no result.

use crate::wire::{ErrorCode, WireError};

use super::MAX_COMPONENT_BYTES;
use super::spec::SpecError;

/// Why a component was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file is too big to be a view.
    #[error("{0} bytes is over the {MAX_COMPONENT_BYTES}-byte limit for a view")]
    TooLarge(u64),
    /// The file is precompiled native code, which is never loaded from a
    /// plugins folder.
    #[error("precompiled artifacts are not accepted; drop the .wasm component instead")]
    Precompiled,
    /// The bytes are not a valid component (or not one halo can compile).
    #[error("not a valid halo view component: {}", explained(hint.as_deref(), chain))]
    Invalid {
        /// What to do about it, when a known build setting causes it.
        hint: Option<String>,
        /// wasmtime's error chain.
        chain: String,
    },
    /// A valid component that does not link against, or export, its world.
    #[error("not a valid halo view component: it does not fit the world {wit}: {}", explained(Some(lacks.as_str()).filter(|l| !l.is_empty()), chain))]
    Unlinkable {
        /// The version it was checked against, e.g. `halo:view@0.1.0`.
        wit: &'static str,
        /// What it imports that halo lacks, or what it does not export, with
        /// the fix when known; empty when none of that explains it.
        lacks: String,
        /// wasmtime's error chain.
        chain: String,
    },
    /// The component could not be compiled for a reason of the host's.
    #[error("compiling the component failed: {0}")]
    Compile(String),
    /// `describe` trapped or returned an invalid spec.
    #[error("describe failed: {0}")]
    Describe(String),
    /// Every instance slot was busy; loading again later may work.
    #[error("every view slot was busy; will try again")]
    Busy,
    /// The spec was refused.
    #[error(transparent)]
    Spec(#[from] SpecError),
}

/// What a refused component lacks and how to fix it, when known, then
/// wasmtime's own words.
fn explained(hint: Option<&str>, chain: &str) -> String {
    match hint {
        Some(hint) => format!("{hint} (wasmtime: {chain})"),
        None => chain.to_owned(),
    }
}

/// Why a call into a view did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The view answered with an error of its own.
    #[error("view refused: {0}")]
    Refused(WireError),
    /// The view trapped, ran out of CPU time or memory, or hung.
    #[error("view failed: {reason}")]
    Failed {
        /// What went wrong, safe to show to clients.
        reason: FailReason,
        /// Detail for the host's log only.
        detail: String,
    },
    /// No instance slot freed up within the call's deadline.
    #[error("no view instance was free in time")]
    Busy,
}

/// The kinds of view failure, as clients see them in `plugin_failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    /// It used up its CPU deadline.
    Deadline,
    /// It reached its memory limit.
    Memory,
    /// It trapped (a panic, an invalid operation).
    Trap,
}

impl std::fmt::Display for FailReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Deadline => "it exceeded its CPU deadline",
            Self::Memory => "it exceeded its memory limit",
            Self::Trap => "it trapped",
        })
    }
}

impl CallError {
    /// The error to send to the client.
    pub fn to_wire(&self, view: &str) -> WireError {
        match self {
            Self::Refused(err) => err.clone(),
            Self::Failed { reason, .. } => {
                let mut err = WireError::new(
                    ErrorCode::PluginFailed,
                    format!("view {view} failed: {reason}"),
                );
                // The view's own bug, not the client's: still `plugin_failed`
                // (docs/protocol.md), naming the limit it ran into.
                err.limit = match reason {
                    FailReason::Deadline => Some("deadline_ms"),
                    FailReason::Memory => Some("memory_mib"),
                    FailReason::Trap => None,
                };
                err
            }
            Self::Busy => WireError::limit(
                "instances",
                format!(
                    "every instance slot of this tenant stayed busy; view {view} could not run, try again"
                ),
            ),
        }
    }
}

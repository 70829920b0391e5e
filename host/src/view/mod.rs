//! Views: loads view components and runs their exports in a sandbox.
//!
//! Every wasmtime type stays inside this module; the rest of the host sees
//! [`Runtime`], [`View`], [`ViewSpec`] and [`CallError`].
//!
//! * `engine`: the compiler, and each tenant's sandbox.
//! * `clock`: the epoch clock, ticking while view code runs.
//! * `instance`: warm instances, and running one call in one.
//! * `error`: why a component was refused or a call failed.
//! * `catalog`: a tenant's live views, swapped on hot reload.
//! * `folder`: a watched plugins folder feeding a catalog.
//! * `bindings`, `bindings_v2`: the generated host side of the WIT worlds
//!   `halo:view@0.1.0` and `@0.2.0`.
//! * `bound`: a view of either version, called the same way.
//! * `host`: the imports views call, and per-instance state; `host_v2`:
//!   0.2.0's imports, delegating to them.
//! * `output`: guest stdout/stderr into the host log.
//! * `refusal`: why a component is not a loadable view, with the fix.
//! * `spec`: the checked view spec.
//! * `cache`: compiled components on disk.
//! * `compile`: compiling in a child process, so the server's memory stays
//!   low.
//! * `fair`: fair shares of the CPU for view code across tenants.
//! * `offload`: short calls run on the caller's task, long ones on the view
//!   workers.

mod bindings;
mod bindings_v2;
mod bound;
mod cache;
mod catalog;
mod clock;
mod compile;
mod engine;
mod error;
mod fair;
mod folder;
mod host;
mod host_v2;
mod instance;
mod offload;
mod output;
mod refusal;
mod spec;

pub use bound::Wit;
pub use catalog::{Catalog, CatalogError, Installed};
pub use compile::{COMMAND as COMPILE_COMMAND, child_main as compile_main, compile_in_child};
pub use engine::{Engine, Limits, Runtime};
pub use error::{CallError, FailReason, LoadError};
pub use folder::Folder;
pub use spec::{MAX_VIEW_NAME, SpecError, ViewSpec};

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use parking_lot::Mutex;

use crate::client::Client;
use crate::tx::Tx;
use crate::wire::{ErrorCode, WireError};
use bindings::halo::view::types;
use host::CallCtx;
use instance::Instance;
use output::Caller;

/// How often the epoch advances: the granularity of CPU deadlines, and the
/// longest a looping view holds a runtime worker before yielding.
const TICK: Duration = Duration::from_millis(1);

/// The WIT packages the host loads, oldest first.
pub const WIT_PACKAGES: [&str; 2] = ["halo:view@0.1.0", "halo:view@0.2.0"];

/// Ticks a call may run before it hands its turn on to waiting calls: the
/// usual call (validate, write, render) finishes within them in one go,
/// instead of queueing behind a looping view at each tick.
const SHORT_CALL_TICKS: u64 = 2;

/// How long a call may hold its turn before a nudge (another tenant's call
/// waiting to start) makes it hand the turn on: far more than a usual call
/// takes in all, far less than a tick.
const NUDGE_GRACE: Duration = Duration::from_micros(250);

/// How many calls of a view that just ran long go straight to the view
/// workers before it may run on the caller's task again.
const LONG_STREAK: u32 = 64;

/// Largest component file accepted; bigger files are refused unread.
pub const MAX_COMPONENT_BYTES: u64 = 32 << 20;

/// A loaded view: its spec and a pool of warm instances.
pub struct View {
    runtime: Arc<Runtime>,
    pre: bound::Pre,
    hash: String,
    spec: ViewSpec,
    /// The spec's name, shared with the instances' log lines.
    name: Arc<str>,
    idle: Mutex<Vec<Instance>>,
    /// Calls still to send straight to the view workers because a recent
    /// one ran long: a view that loops would otherwise spend a tick of a
    /// socket worker on each call before moving.
    long_streak: AtomicU32,
    /// Where its calls' durations are counted, looked up once; none while
    /// it is being described.
    calls: Option<prometheus_client::metrics::histogram::Histogram>,
}

impl Drop for View {
    fn drop(&mut self) {
        self.runtime.unpool(self.idle.get_mut().len());
    }
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("spec", &self.spec)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

fn wit_client(client: &Client) -> types::Client {
    types::Client {
        id: client.id.to_string(),
        tenant: client.tenant.to_string(),
        claims: client.claims.to_string(),
    }
}

fn wire_error(err: types::Error) -> WireError {
    let code = match err.code {
        types::ErrorCode::Forbidden => ErrorCode::Forbidden,
        types::ErrorCode::NotFound => ErrorCode::NotFound,
        types::ErrorCode::Invalid => ErrorCode::Invalid,
        types::ErrorCode::Unavailable => ErrorCode::Unavailable,
    };
    WireError::new(code, host::truncate(&err.message, 1024))
}

impl View {
    /// What the view declared.
    pub fn spec(&self) -> &ViewSpec {
        &self.spec
    }

    /// The spec's name, shared.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The WIT package the component implements, e.g. `halo:view@0.2.0`.
    pub fn wit(&self) -> &'static str {
        self.pre.wit().package()
    }

    /// Content hash of the component (hex BLAKE3).
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Runs route `action` through the view's `handle`, with its collection
    /// imports writing into `tx`. Returns the result text and the
    /// transaction to commit.
    pub async fn handle(
        &self,
        action: &str,
        client: &Client,
        data: String,
        tx: Tx,
    ) -> Result<(String, Tx), CallError> {
        let ctx = CallCtx {
            tx,
            caller: Caller {
                action: Arc::from(action),
                connection: Arc::clone(&client.id),
            },
            writable: true,
            written: 0,
            emitted: 0,
        };
        let wclient = wit_client(client);
        let action = action.to_owned();
        let (result, ctx) = self
            .run(
                Some(ctx),
                Box::new(move |view, store| {
                    Box::pin(async move { view.handle(store, &action, &wclient, &data).await })
                }),
            )
            .await?;
        let tx = ctx.map(|c| c.tx).ok_or_else(|| CallError::Failed {
            reason: FailReason::Trap,
            detail: "the call context went missing".into(),
        })?;
        match result {
            Ok(text) => Ok((text, tx)),
            Err(err) => Err(CallError::Refused(wire_error(err))),
        }
    }

    /// How `model` looks to `client`: `None` hides it. `tx` gives the view
    /// read access to collections.
    pub async fn render(
        &self,
        client: &Client,
        model: Arc<str>,
        tx: Tx,
    ) -> Result<Option<String>, CallError> {
        let mut rendered = self.render_many(&[(client.clone(), model)], tx).await?;
        Ok(rendered.pop().flatten())
    }

    /// How each model of `jobs` looks to its client, in one call: one slot,
    /// one turn and one instance for all, as a push renders a model for
    /// every audience. Keep `jobs` short, since they share one call's CPU
    /// deadline and hold the turn together. Fails as a whole when any render
    /// fails; the caller renders one by one to find which.
    pub async fn render_many(
        &self,
        jobs: &[(Client, Arc<str>)],
        tx: Tx,
    ) -> Result<Vec<Option<String>>, CallError> {
        let ctx = CallCtx {
            tx,
            caller: Caller {
                action: Arc::from("render"),
                connection: jobs
                    .first()
                    .map_or_else(|| Arc::from(""), |(client, _)| Arc::clone(&client.id)),
            },
            writable: false,
            written: 0,
            emitted: 0,
        };
        let jobs: Vec<(types::Client, Arc<str>)> = jobs
            .iter()
            .map(|(client, model)| (wit_client(client), Arc::clone(model)))
            .collect();
        let (result, _) = self
            .run(
                Some(ctx),
                Box::new(move |view, store| {
                    Box::pin(async move {
                        let mut rendered = Vec::with_capacity(jobs.len());
                        for (client, model) in &jobs {
                            rendered.push(view.render(store, client, model).await?);
                        }
                        Ok(rendered)
                    })
                }),
            )
            .await?;
        Ok(result)
    }

    /// Whether the view admits `client`.
    pub async fn connect(&self, client: &Client, tx: Tx) -> Result<(), CallError> {
        let ctx = CallCtx {
            tx,
            caller: Caller {
                action: Arc::from("connect"),
                connection: Arc::clone(&client.id),
            },
            writable: false,
            written: 0,
            emitted: 0,
        };
        let wclient = wit_client(client);
        let (result, _) = self
            .run(
                Some(ctx),
                Box::new(move |view, store| {
                    Box::pin(async move { view.connect(store, &wclient).await })
                }),
            )
            .await?;
        result.map_err(|err| CallError::Refused(wire_error(err)))
    }
}

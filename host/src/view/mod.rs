//! Views: loads view components and runs their exports in a sandbox.
//!
//! Every wasmtime type stays inside this module; the rest of the host sees
//! [`Runtime`], [`Plugin`], [`ViewSpec`] and [`CallError`].
//!
//! * `bindings`: the generated host side of the WIT world.
//! * `host`: the imports views call, and per-instance state.
//! * `output`: guest stdout/stderr into the host log.
//! * `spec`: the checked view spec.
//! * `cache`: compiled components on disk.
//! * `fair`: fair shares of the CPU for view code across tenants.
//! * `offload`: short calls run on the caller's task, long ones on the view
//!   workers.

mod bindings;
mod cache;
mod fair;
mod host;
mod offload;
mod output;
mod spec;

pub use spec::{BUILT_IN, MAX_VIEW_NAME, SpecError, ViewSpec, normalize_route};

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Config, Store, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;

use crate::client::Client;
use crate::tx::Tx;
use crate::wire::{ErrorCode, WireError};
use bindings::halo::view::types;
use host::{CallCtx, HostState, Limiter};
use output::{CallSpan, LogPipe};

/// How often the epoch advances: the granularity of CPU deadlines, and the
/// longest a looping view holds a runtime worker before yielding.
const TICK: Duration = Duration::from_millis(1);

/// The WIT package every view implements, as the admin endpoint reports it.
pub const WIT_PACKAGE: &str = "halo:view@0.1.0";

/// Ticks a call may run before it hands its turn on to waiting calls: the
/// usual call (validate, write, render) finishes within them in one go,
/// instead of queueing behind a looping view at each tick.
const SHORT_CALL_TICKS: u64 = 2;

/// How many calls of a view that just ran long go straight to the view
/// workers before it may run on the caller's task again.
const LONG_STREAK: u32 = 64;

/// Largest component file accepted; bigger files are refused unread.
pub const MAX_COMPONENT_BYTES: u64 = 32 << 20;

/// Sandbox limits, the same for every view of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory one instance may grow to.
    pub memory_bytes: usize,
    /// CPU time one call may use before it fails with `plugin_failed`.
    pub cpu_deadline: Duration,
    /// Calls that may run at once across a tenant's views; more wait for a
    /// slot.
    pub max_instances: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // 32 MiB: a std view idles at about 1 MiB; one view must not
            // exhaust the host's memory.
            memory_bytes: 32 << 20,
            // 100 ms of CPU is far beyond what rendering or validating one
            // model takes, and short enough that a loop is noticed quickly.
            cpu_deadline: Duration::from_millis(100),
            // A few per core, per tenant: a burst of calls queues instead of
            // piling up memory, and a tenant whose calls all loop holds at
            // most this many of the runtime's tasks (a fair share).
            max_instances: 16,
        }
    }
}

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
    /// The bytes are not a valid component, or it does not fit the world.
    #[error("not a valid halo view component: {0}")]
    Invalid(String),
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
                // (DESIGN.md), naming the limit it ran into.
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

/// The compiler, linker, epoch clock and compile cache: one per host, shared
/// by every tenant's [`Runtime`].
pub struct Engine {
    engine: wasmtime::Engine,
    linker: Linker<HostState>,
    cache: cache::ComponentCache,
    fair: Arc<fair::Fair>,
    /// The async workers view code runs on; `None` only while dropping.
    workers: Option<tokio::runtime::Runtime>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is not allowed inside another.
        if let Some(workers) = self.workers.take() {
            workers.shutdown_background();
        }
    }
}

impl Engine {
    /// An engine caching compiled components in `cache_dir`. Starts the epoch
    /// clock thread, which ends with the engine.
    pub fn new(cache_dir: PathBuf) -> anyhow::Result<Arc<Self>> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = wasmtime::Engine::new(&config)?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("halo-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        bindings::View::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(
            &mut linker,
            |state| state,
        )?;
        let cache = cache::ComponentCache::new(cache_dir, &engine)?;
        // One turn, and one worker, per core the process may use (its CPU
        // affinity counts).
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let workers = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores)
            .thread_name("halo-view")
            .enable_all()
            .build()?;
        Ok(Arc::new(Self {
            engine,
            linker,
            cache,
            fair: fair::Fair::new(cores),
            workers: Some(workers),
        }))
    }

    /// Where view calls that run long go.
    fn workers(&self) -> tokio::runtime::Handle {
        match &self.workers {
            Some(workers) => workers.handle().clone(),
            // Only reachable during drop, when nothing calls views.
            None => tokio::runtime::Handle::current(),
        }
    }
}

/// One tenant's sandbox: the shared [`Engine`] under that tenant's limits,
/// with its own instance slots, so one tenant's calls never take another's.
pub struct Runtime {
    engine: Arc<Engine>,
    limits: Limits,
    tenant: Arc<str>,
    slots: Arc<Semaphore>,
    /// Warm instances kept across the tenant's views; at most
    /// `max_instances`, so a tenant with many views cannot hold many times
    /// its share of memory in idle instances.
    pooled: AtomicUsize,
}

impl Runtime {
    /// A sandbox for `tenant` on `engine` with `limits`.
    pub fn new(engine: &Arc<Engine>, limits: Limits, tenant: &str) -> Arc<Self> {
        Arc::new(Self {
            engine: Arc::clone(engine),
            limits,
            tenant: tenant.into(),
            slots: Arc::new(Semaphore::new(limits.max_instances)),
            pooled: AtomicUsize::new(0),
        })
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The tenant whose views run here.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Claims room for one more warm instance, if the tenant has any left.
    fn reserve_pooled(&self) -> bool {
        self.pooled
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limits.max_instances).then_some(n + 1)
            })
            .is_ok()
    }

    /// Warm instances kept now across the tenant's views.
    pub fn warm_instances(&self) -> usize {
        self.pooled.load(Ordering::Acquire)
    }

    fn unpool(&self, n: usize) {
        self.pooled.fetch_sub(n, Ordering::AcqRel);
    }

    /// Compiles (or loads from the cache), type-checks and describes a view.
    pub async fn load(self: &Arc<Self>, bytes: Vec<u8>) -> Result<Plugin, LoadError> {
        if bytes.len() as u64 > MAX_COMPONENT_BYTES {
            return Err(LoadError::TooLarge(bytes.len() as u64));
        }
        if wasmtime::Engine::detect_precompiled(&bytes).is_some() {
            return Err(LoadError::Precompiled);
        }
        let engine = Arc::clone(&self.engine);
        let (component, hash) =
            tokio::task::spawn_blocking(move || engine.cache.component(&engine.engine, &bytes))
                .await
                .map_err(|e| LoadError::Invalid(e.to_string()))??;
        let pre = self
            .engine
            .linker
            .instantiate_pre(&component)
            .and_then(bindings::ViewPre::new)
            .map_err(|e| {
                LoadError::Invalid(format!(
                    "it does not fit the world {WIT_PACKAGE}: {:#}",
                    e.root_cause()
                ))
            })?;

        let mut plugin = Plugin {
            runtime: Arc::clone(self),
            pre,
            hash,
            spec: ViewSpec {
                name: String::new(),
                collection: String::new(),
                defaults: Default::default(),
                routes: Default::default(),
                handlers: Default::default(),
                render_per_client: false,
                connect: false,
            },
            name: "(loading)".into(),
            idle: Mutex::new(Vec::new()),
            long_streak: AtomicU32::new(0),
            calls: None,
        };
        let (raw, _) = plugin
            .run(
                None,
                Box::new(|view, store| Box::pin(async move { view.call_describe(store).await })),
            )
            .await
            .map_err(|err| match err {
                CallError::Busy => LoadError::Busy,
                CallError::Failed { reason, detail } => {
                    LoadError::Describe(format!("{reason}: {detail}"))
                }
                CallError::Refused(err) => LoadError::Describe(err.message),
            })?;
        plugin.spec = ViewSpec::from_raw(raw)?;
        plugin.name = plugin.spec.name.as_str().into();
        plugin.calls =
            Some(crate::metrics::metrics().plugin_calls_of(&self.tenant, &plugin.spec.name));
        // The describing instance was made before the view had a name, which
        // its log lines and events carry: start afresh.
        let made = std::mem::take(plugin.idle.get_mut());
        self.unpool(made.len());
        Ok(plugin)
    }
}

/// One warm instance and the store it lives in.
struct Instance {
    store: Store<HostState>,
    view: bindings::View,
    /// The span of the call running now, for lines the view prints: WASI
    /// writes them from a task of its own, outside the call's span.
    span: CallSpan,
}

/// A loaded view: its spec and a pool of warm instances.
pub struct Plugin {
    runtime: Arc<Runtime>,
    pre: bindings::ViewPre<HostState>,
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

impl Drop for Plugin {
    fn drop(&mut self) {
        self.runtime.unpool(self.idle.get_mut().len());
    }
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
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

impl Plugin {
    /// What the view declared.
    pub fn spec(&self) -> &ViewSpec {
        &self.spec
    }

    /// The spec's name, shared.
    pub fn name(&self) -> &Arc<str> {
        &self.name
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
        data: &str,
        tx: Tx,
    ) -> Result<(String, Tx), CallError> {
        let ctx = CallCtx {
            tx,
            writable: true,
            written: 0,
            emitted: 0,
        };
        let wclient = wit_client(client);
        let (action, data) = (action.to_owned(), data.to_owned());
        let (result, ctx) = self
            .run(
                Some(ctx),
                Box::new(move |view, store| {
                    Box::pin(async move { view.call_handle(store, &action, &wclient, &data).await })
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
        let ctx = CallCtx {
            tx,
            writable: false,
            written: 0,
            emitted: 0,
        };
        let wclient = wit_client(client);
        let (result, _) = self
            .run(
                Some(ctx),
                Box::new(move |view, store| {
                    Box::pin(async move { view.call_render(store, &wclient, &model).await })
                }),
            )
            .await?;
        Ok(result)
    }

    /// Whether the view admits `client`.
    pub async fn connect(&self, client: &Client, tx: Tx) -> Result<(), CallError> {
        let ctx = CallCtx {
            tx,
            writable: false,
            written: 0,
            emitted: 0,
        };
        let wclient = wit_client(client);
        let (result, _) = self
            .run(
                Some(ctx),
                Box::new(move |view, store| {
                    Box::pin(async move { view.call_connect(store, &wclient).await })
                }),
            )
            .await?;
        result.map_err(|err| CallError::Refused(wire_error(err)))
    }
}

/// A fresh instance of `pre`, made while holding `turn` (its start-up runs
/// view code), which it keeps.
async fn instantiate(
    pre: bindings::ViewPre<HostState>,
    runtime: Arc<Runtime>,
    view: Arc<str>,
    turn: fair::Turn,
    ran_long: offload::RanLong,
) -> Result<Instance, CallError> {
    let span: CallSpan = Arc::new(Mutex::new(tracing::Span::none()));
    let wasi = WasiCtxBuilder::new()
        .stdout(LogPipe::new(
            Arc::clone(&runtime.tenant),
            Arc::clone(&view),
            "stdout",
            Arc::clone(&span),
        ))
        .stderr(LogPipe::new(
            Arc::clone(&runtime.tenant),
            Arc::clone(&view),
            "stderr",
            Arc::clone(&span),
        ))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build();
    let limits = runtime.limits;
    let state = HostState {
        wasi,
        table: ResourceTable::new(),
        limiter: Limiter {
            max_memory: limits.memory_bytes,
            max_table_elements: 100_000,
            memory: 0,
            out_of_memory: false,
        },
        view,
        tenant: Arc::clone(&runtime.tenant),
        fair: Arc::clone(&runtime.engine.fair),
        turn: Arc::new(Mutex::new(Some(turn))),
        ticks_used: 0,
        tick_budget: ticks(limits.cpu_deadline),
        out_of_time: false,
        ran_long,
        call: None,
    };
    let mut store = Store::new(&runtime.engine.engine, state);
    store.limiter(|state| &mut state.limiter);
    store.epoch_deadline_callback(|mut ctx| {
        let state = ctx.data_mut();
        state.ticks_used += 1;
        if state.ticks_used > state.tick_budget {
            state.out_of_time = true;
            return Err(wasmtime::Error::msg("view exceeded its CPU deadline"));
        }
        // It yields below. The first tick may come at any moment of a short
        // call; one that sees a second has run for a whole tick, and if it
        // runs on a socket worker, it moves now.
        if state.ticks_used > 1 {
            state.ran_long.store(true, Ordering::Release);
        }
        if state.ticks_used > SHORT_CALL_TICKS && state.fair.contended() {
            // A long call, while others wait to run view code: hand the
            // turn on and queue for the next one. Time spent waiting is not CPU time: the
            // deadline is re-armed after the wait.
            let slot = Arc::clone(&state.turn);
            drop(slot.lock().take());
            let fair = Arc::clone(&state.fair);
            let tenant = Arc::clone(&state.tenant);
            return Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(async move {
                    let turn = fair.acquire(&tenant).await;
                    *slot.lock() = Some(turn);
                }),
            ));
        }
        // Yield every tick so a busy view never holds a runtime worker
        // for longer than one tick at a time.
        Ok(UpdateDeadline::Yield(1))
    });
    store.set_epoch_deadline(1);
    let view = pre
        .instantiate_async(&mut store)
        .await
        .map_err(|e| classify(&store, &e))?;
    Ok(Instance { store, view, span })
}

/// A call into an instance: borrows it for as long as the call runs.
type Call<T> = Box<
    dyn for<'a> FnOnce(
            &'a bindings::View,
            &'a mut Store<HostState>,
        ) -> Pin<Box<dyn Future<Output = wasmtime::Result<T>> + Send + 'a>>
        + Send,
>;

impl Plugin {
    /// Runs `f` on a warm instance with `ctx` installed, under the CPU
    /// deadline and a wall-clock backstop: here while it is short, on the
    /// engine's view workers once it runs long (see `offload`). An instance
    /// that failed in any way is dropped, since a trap poisons its store.
    async fn run<T: Send + 'static>(
        &self,
        ctx: Option<CallCtx>,
        f: Call<T>,
    ) -> Result<(T, Option<CallCtx>), CallError> {
        let deadline = self.runtime.limits.cpu_deadline;
        // Waiting for a slot and the backstop both scale with the deadline,
        // so they stay proportionate when an operator raises it.
        let wall = deadline * 10 + Duration::from_secs(1);
        let permit: OwnedSemaphorePermit =
            match tokio::time::timeout(wall, Arc::clone(&self.runtime.slots).acquire_owned()).await
            {
                Ok(Ok(permit)) => permit,
                _ => return Err(CallError::Busy),
            };
        let idle = self.idle.lock().pop();
        if idle.is_some() {
            self.runtime.unpool(1);
        }
        let pre = self.pre.clone();
        let runtime = Arc::clone(&self.runtime);
        let view = Arc::clone(&self.name);
        let calls = self.calls.clone();
        let ran_long: offload::RanLong = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran_long);
        // The call keeps the request's span, so what the view logs names the
        // request.
        let call =
            async move {
                // View code runs only while holding a turn; see `fair`.
                let turn =
                    match tokio::time::timeout(wall, runtime.engine.fair.acquire(&runtime.tenant))
                        .await
                    {
                        Ok(turn) => turn,
                        Err(_) => return Err(CallError::Busy),
                    };
                let mut instance = match idle {
                    Some(instance) => {
                        *instance.store.data().turn.lock() = Some(turn);
                        instance
                    }
                    None => {
                        instantiate(
                            pre,
                            Arc::clone(&runtime),
                            Arc::clone(&view),
                            turn,
                            Arc::clone(&flag),
                        )
                        .await?
                    }
                };
                {
                    let state = instance.store.data_mut();
                    state.ticks_used = 0;
                    state.out_of_time = false;
                    state.call = ctx;
                    state.ran_long = flag;
                }
                // Deadlines are absolute: re-arm before every call.
                instance.store.set_epoch_deadline(1);
                *instance.span.lock() = tracing::Span::current();
                let Instance {
                    store,
                    view: exports,
                    ..
                } = &mut instance;
                let started = std::time::Instant::now();
                let outcome = tokio::time::timeout(wall, f(exports, store)).await;
                if let Some(calls) = &calls {
                    calls.observe(started.elapsed().as_secs_f64());
                }
                // Hand the turn and the slot on before anything else.
                drop(instance.store.data().turn.lock().take());
                drop(permit);
                Ok((instance, outcome))
            }
            .instrument(tracing::Span::current());
        let workers = self.runtime.engine.workers();
        let streak = self.long_streak.load(Ordering::Relaxed);
        let moved = if streak > 0 {
            self.long_streak.store(streak - 1, Ordering::Relaxed);
            workers.spawn(call).await
        } else {
            match offload::Here::new(call, ran_long).await {
                offload::Outcome::Done(output) => Ok(output),
                offload::Outcome::Long(rest) => {
                    self.long_streak.store(LONG_STREAK, Ordering::Relaxed);
                    workers.spawn(rest).await
                }
            }
        };
        let (mut instance, outcome) = moved.map_err(|err| CallError::Failed {
            reason: FailReason::Trap,
            detail: format!("the view call's task failed: {err}"),
        })??;
        match outcome {
            Ok(Ok(value)) => {
                let ctx = instance.store.data_mut().call.take();
                let mut idle = self.idle.lock();
                // As many as calls have needed at once, within the tenant's
                // cap: a fresh instance costs 10-40 µs to make and more to
                // unmap, which under load is most of a call's cost.
                if self.runtime.reserve_pooled() {
                    idle.push(instance);
                }
                Ok((value, ctx))
            }
            // The instance is dropped with its poisoned store and the call's
            // transaction.
            Ok(Err(err)) => Err(classify(&instance.store, &err)),
            Err(_elapsed) => Err(CallError::Failed {
                reason: FailReason::Deadline,
                detail: format!("no answer within {wall:?} of wall-clock time"),
            }),
        }
    }
}

fn ticks(deadline: Duration) -> u64 {
    (deadline.as_millis() / TICK.as_millis()).max(1) as u64
}

fn classify(store: &Store<HostState>, err: &wasmtime::Error) -> CallError {
    let state = store.data();
    let reason = if state.out_of_time {
        FailReason::Deadline
    } else if state.limiter.out_of_memory {
        FailReason::Memory
    } else {
        FailReason::Trap
    };
    CallError::Failed {
        reason,
        detail: err.root_cause().to_string(),
    }
}

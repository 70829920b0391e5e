//! The engine every tenant shares (compiler, linker, epoch clock, compile
//! cache, view workers) and each tenant's sandbox on it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Semaphore;
use wasmtime::Config;
use wasmtime::component::{HasSelf, Linker};

use super::bound::{Pre, Wit};
use super::host::HostState;
use super::{CallError, LoadError, MAX_COMPONENT_BYTES, TICK, View, ViewSpec};
use super::{bindings, bindings_v2, cache, fair, refusal};

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

/// The engine's settings; a child process that compiles for this one uses
/// the same, or its artifacts would not load here.
pub(super) fn config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config
}

/// The compiler, linker, epoch clock and compile cache: one per host, shared
/// by every tenant's [`Runtime`].
pub struct Engine {
    pub(super) engine: wasmtime::Engine,
    pub(super) linker: Linker<HostState>,
    pub(super) cache: cache::ComponentCache,
    pub(super) fair: Arc<fair::Fair>,
    /// The async workers view code runs on; `None` only while dropping.
    pub(super) workers: Option<tokio::runtime::Runtime>,
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
        let engine = wasmtime::Engine::new(&config())?;
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
        // Both versions' imports in one linker: every view links against it,
        // whichever version it was built for. (Their shared `types`
        // interface is opened twice, which wasmtime allows.)
        bindings::View::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)?;
        bindings_v2::View::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| {
            state
        })?;
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
    pub(super) fn workers(&self) -> tokio::runtime::Handle {
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
    pub(super) engine: Arc<Engine>,
    pub(super) limits: Limits,
    pub(super) tenant: Arc<str>,
    pub(super) slots: Arc<Semaphore>,
    /// Warm instances kept across the tenant's views; at most
    /// `max_instances`, so a tenant with many views cannot hold many times
    /// its share of memory in idle instances.
    pub(super) pooled: AtomicUsize,
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
    pub(super) fn reserve_pooled(&self) -> bool {
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

    pub(super) fn unpool(&self, n: usize) {
        self.pooled.fetch_sub(n, Ordering::AcqRel);
    }

    /// Compiles (or loads from the cache), type-checks and describes a view.
    pub async fn load(self: &Arc<Self>, bytes: Vec<u8>) -> Result<View, LoadError> {
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
                .map_err(|e| LoadError::Compile(e.to_string()))??;
        let wit = Wit::of(&component);
        let pre = self
            .engine
            .linker
            .instantiate_pre(&component)
            .and_then(|pre| Pre::new(wit, pre))
            .map_err(|e| refusal::unlinkable(&self.engine.engine, &component, wit, &e))?;

        let mut plugin = View {
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
                Box::new(|view, store| Box::pin(async move { view.describe(store).await })),
            )
            .await
            .map_err(|err| match err {
                CallError::Busy => LoadError::Busy,
                CallError::Failed { reason, detail } => refusal::describe_failed(reason, &detail),
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

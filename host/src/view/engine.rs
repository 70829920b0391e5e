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
use super::{CallError, LoadError, MAX_COMPONENT_BYTES, View, ViewSpec};
use super::{bindings, bindings_v2, cache, clock, fair, refusal};

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

std::thread_local! {
    /// Whether this thread is one of the engine's view workers.
    static ON_VIEW_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the calling thread is a view worker: view code running here
/// takes only the CPU that request work leaves, and needs no turn.
pub(super) fn on_view_worker() -> bool {
    ON_VIEW_WORKER.with(std::cell::Cell::get)
}

/// The nice value of the view workers: the lowest priority.
#[cfg(target_os = "linux")]
const VIEW_WORKER_NICE: i32 = 19;

/// Marks the calling thread as a view worker and gives it the lowest
/// priority. Only calls that ran long run here, mostly loops. At the normal
/// priority the kernel shared the core evenly between them and the threads
/// that serve every tenant's sockets and commits, so a looping tenant added
/// milliseconds to other tenants' round trips. At nice 19 a loop gets
/// about 1.5 % of a core that request work wants: it still progresses, so
/// a long call that is legitimate slows down rather than stalls. (The
/// kernel's idle class was measured too: no better for the other tenants,
/// and it can starve a worker outright while other processes keep the
/// machine busy.)
fn start_view_worker() {
    ON_VIEW_WORKER.with(|flag| flag.set(true));
    // `None` is the calling thread: on Linux a nice value is per thread.
    #[cfg(target_os = "linux")]
    if let Err(err) = rustix::process::setpriority_process(None, VIEW_WORKER_NICE) {
        tracing::warn!(cause = %err, "could not lower the view workers' priority");
    }
}

/// The compiler, linker, epoch clock and compile cache: one per host, shared
/// by every tenant's [`Runtime`].
pub struct Engine {
    pub(super) engine: wasmtime::Engine,
    pub(super) linker: Linker<HostState>,
    pub(super) cache: cache::ComponentCache,
    pub(super) clock: Arc<clock::Clock>,
    pub(super) fair: Arc<fair::Fair>,
    /// The async workers view code runs on; `None` only while dropping.
    pub(super) workers: Option<tokio::runtime::Runtime>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.clock.close();
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
        let clock = clock::Clock::start(engine.weak())?;
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
            .on_thread_start(start_view_worker)
            .enable_all()
            .build()?;
        let nudged = engine.weak();
        let fair = fair::Fair::with_nudge(cores, move || {
            if let Some(engine) = nudged.upgrade() {
                engine.increment_epoch();
            }
        });
        Ok(Arc::new(Self {
            engine,
            linker,
            cache,
            clock,
            fair,
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The nice value of the calling thread, from its `stat` line (the
    /// 19th field).
    fn nice() -> Option<i32> {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
        // Fields after the command name, which may hold spaces: state is the
        // third field of the line.
        let rest = &stat[stat.rfind(')')? + 2..];
        rest.split(' ').nth(19 - 3)?.parse().ok()
    }

    #[test]
    fn long_calls_run_at_the_lowest_priority_and_requests_do_not() -> anyhow::Result<()> {
        let cache = tempfile::tempdir()?;
        let engine = Engine::new(cache.path().to_path_buf())?;
        let runtime = tokio::runtime::Runtime::new()?;
        let here = runtime.block_on(async { (nice(), on_view_worker()) });
        let on_worker =
            runtime.block_on(engine.workers().spawn(async { (nice(), on_view_worker()) }))?;
        assert_eq!(on_worker, (Some(VIEW_WORKER_NICE), true));
        assert!(!here.1);
        assert_ne!(here.0, Some(VIEW_WORKER_NICE));
        Ok(())
    }
}

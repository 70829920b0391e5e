//! What a view instance may call: the host side of the `collections`,
//! `events` and `log` imports, and the state each instance's store carries.

use std::sync::Arc;

use serde_json::Value;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::halo::view::{
    collections, events, log,
    types::{self, Error, ErrorCode},
};
use super::output::Caller;
use crate::store::{Model, StoreError};
use crate::tx::{Emit, EmitTarget, Tx};

/// Longest log line a view may write; the rest is cut so one view cannot
/// flood the host's log.
pub(crate) const MAX_LOG_LINE: usize = 4096;

/// The call an instance is serving, with the transaction its imports use.
pub(crate) struct CallCtx {
    pub tx: Tx,
    /// Whom the call serves, named on the view's log lines.
    pub caller: Caller,
    /// Whether imports may write (not during `render` or `connect`).
    pub writable: bool,
    /// JSON bytes written so far, against [`MAX_WRITE_BYTES`].
    pub written: usize,
    /// Custom events emitted so far, against [`MAX_EMITS`].
    pub emitted: usize,
}

/// Most custom events one call may emit: each is a packet to every
/// receiver.
pub(crate) const MAX_EMITS: usize = 100;

/// Most JSON one call may write: the host keeps a transaction in memory until
/// it commits.
pub(crate) const MAX_WRITE_BYTES: usize = 16 << 20;

/// Per-store state of one view instance.
pub(crate) struct HostState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub limiter: Limiter,
    pub view: Arc<str>,
    /// The tenant the view belongs to, for its log lines and its CPU share.
    pub tenant: Arc<str>,
    /// Hands out turns to run view code.
    pub fair: Arc<super::fair::Fair>,
    /// The turn this instance runs under while it serves a call on the
    /// request threads (none on the view workers); shared with the future
    /// that waits for the next turn after handing one on.
    pub turn: Arc<parking_lot::Mutex<Option<super::fair::Turn>>>,
    pub ticks_used: u64,
    pub tick_budget: u64,
    /// [`Fair::nudges`](super::fair::Fair::nudges) when the epoch callback
    /// last ran: a callback that sees it changed was nudged, and counts no
    /// tick.
    pub nudges_seen: u64,
    /// Set when the CPU budget ran out, to tell that apart from other traps.
    pub out_of_time: bool,
    /// Set when the running call yields for using up a tick.
    pub ran_long: super::offload::RanLong,
    pub call: Option<CallCtx>,
}

/// Caps an instance's memory and tables; remembers when it refused growth.
pub(crate) struct Limiter {
    /// Total bytes of all the instance's linear memories: a component can
    /// hold several, and the cap is for the view, not for one of them.
    pub max_memory: usize,
    pub max_table_elements: usize,
    /// Bytes of linear memory the instance holds now.
    pub memory: usize,
    pub out_of_memory: bool,
}

/// Core instances, memories and tables one view may create. What views
/// built by the SDKs use: Rust 3 core instances, 1 memory, 2 tables;
/// JavaScript (QuickJS) 8, 2, 2; Python (componentize-py 0.25) 14, 1, 2, since
/// it links libc, libpython, its runtime and each native extension library
/// as modules of their own. 32 instances is twice Python's need: room for a
/// view that brings a few native extensions. What an instance costs beyond
/// its memories and tables (capped here and by `max_memory`) is its context
/// record, kilobytes, so the cap on instances guards against a component
/// built to instantiate without end, not against memory use.
pub(super) const MAX_CORE_INSTANCES: usize = 32;
pub(super) const MAX_MEMORIES: usize = 8;
pub(super) const MAX_TABLES: usize = 16;

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.memory.saturating_add(desired.saturating_sub(current));
        if total > self.max_memory {
            self.out_of_memory = true;
            // An error traps at once, instead of handing the guest a failed
            // grow that Rust's allocator would turn into an abort anyway.
            return Err(wasmtime::Error::msg("view exceeded its memory limit"));
        }
        self.memory = total;
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_CORE_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.max_table_elements)
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn error(code: ErrorCode, message: impl Into<String>) -> Error {
    Error {
        code,
        message: message.into(),
    }
}

fn store_error(view: &str, err: StoreError) -> Error {
    if let StoreError::TooLarge(_) = err {
        return error(ErrorCode::Invalid, err.to_string());
    }
    tracing::error!(view, cause = %err, "store read failed during a view call");
    error(ErrorCode::Unavailable, "the store is unavailable")
}

fn object(text: &str, what: &str) -> Result<Model, Error> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(error(
            ErrorCode::Invalid,
            format!("{what} is not a JSON object"),
        )),
    }
}

fn to_text(model: &Model) -> String {
    // Serializing a map of JSON values cannot fail.
    serde_json::to_string(model).unwrap_or_default()
}

impl HostState {
    fn call(&mut self) -> Result<&mut CallCtx, Error> {
        self.call.as_mut().ok_or_else(|| {
            error(
                ErrorCode::Unavailable,
                "collections are not available during describe",
            )
        })
    }

    /// The transaction to write `bytes` of JSON into.
    fn writable(&mut self, bytes: usize) -> Result<&mut Tx, Error> {
        let call = self.call()?;
        if !call.writable {
            return Err(error(
                ErrorCode::Forbidden,
                "writes are only allowed in handle",
            ));
        }
        call.written += bytes;
        if call.written > MAX_WRITE_BYTES {
            return Err(error(
                ErrorCode::Invalid,
                format!("a call may write at most {MAX_WRITE_BYTES} bytes of JSON"),
            ));
        }
        Ok(&mut call.tx)
    }
}

fn check_collection(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > 128 {
        return Err(error(
            ErrorCode::Invalid,
            "collection names are 1 to 128 characters",
        ));
    }
    Ok(())
}

impl types::Host for HostState {}

impl collections::Host for HostState {
    async fn get(&mut self, collection: String, id: String) -> Result<Option<String>, Error> {
        check_collection(&collection)?;
        let view = Arc::clone(&self.view);
        let call = self.call()?;
        let model = call
            .tx
            .get(&collection, &id)
            .await
            .map_err(|e| store_error(&view, e))?;
        Ok(model.as_deref().map(to_text))
    }

    async fn list(
        &mut self,
        collection: String,
        filter: Option<String>,
        limit: Option<u32>,
    ) -> Result<Vec<String>, Error> {
        check_collection(&collection)?;
        let filter = filter.map(|f| object(&f, "filter")).transpose()?;
        let view = Arc::clone(&self.view);
        let call = self.call()?;
        let models = call
            .tx
            .list(&collection, filter.as_ref(), limit.map(|l| l as usize))
            .await
            .map_err(|e| store_error(&view, e))?;
        Ok(models.iter().map(to_text).collect())
    }

    async fn create(&mut self, collection: String, model: String) -> Result<String, Error> {
        check_collection(&collection)?;
        let size = model.len();
        let model = object(&model, "model")?;
        let view = Arc::clone(&self.view);
        let tx = self.writable(size)?;
        let created = tx
            .create(&collection, model)
            .map_err(|e| store_error(&view, e))?;
        Ok(to_text(&created))
    }

    async fn update(
        &mut self,
        collection: String,
        id: String,
        attributes: String,
        only: Option<Vec<String>>,
    ) -> Result<String, Error> {
        check_collection(&collection)?;
        let size = attributes.len();
        let attributes = object(&attributes, "attributes")?;
        let view = Arc::clone(&self.view);
        let tx = self.writable(size)?;
        match tx.update(&collection, &id, attributes, only).await {
            Ok(Some(model)) => Ok(to_text(&model)),
            Ok(None) => Err(error(
                ErrorCode::NotFound,
                format!("no model {id:?} in {collection:?}"),
            )),
            Err(e) => Err(store_error(&view, e)),
        }
    }

    async fn remove(&mut self, collection: String, id: String) -> Result<bool, Error> {
        check_collection(&collection)?;
        let view = Arc::clone(&self.view);
        let tx = self.writable(id.len())?;
        tx.remove(&collection, &id)
            .await
            .map_err(|e| store_error(&view, e))
    }
}

fn event_data(data: &str) -> Result<Value, Error> {
    serde_json::from_str(data).map_err(|_| error(ErrorCode::Invalid, "event data is not JSON"))
}

fn check_event(event: &str) -> Result<(), Error> {
    if event.is_empty() || event.len() > 64 || event.contains(':') || event.contains('/') {
        return Err(error(
            ErrorCode::Invalid,
            "event names are 1 to 64 characters without ':' or '/'",
        ));
    }
    Ok(())
}

impl HostState {
    /// The transaction to queue an event of `bytes` into.
    fn emitting(&mut self, bytes: usize) -> Result<&mut Tx, Error> {
        let call = self.call()?;
        call.emitted += 1;
        if call.emitted > MAX_EMITS {
            return Err(error(
                ErrorCode::Invalid,
                format!("a call may emit at most {MAX_EMITS} events"),
            ));
        }
        self.writable(bytes)
    }
}

impl events::Host for HostState {
    async fn to_client(
        &mut self,
        connection: String,
        event: String,
        data: String,
    ) -> Result<(), Error> {
        check_event(&event)?;
        let size = data.len();
        let data = event_data(&data)?;
        let event = format!("{}:{event}", self.view);
        let tx = self.emitting(size)?;
        tx.emit(Emit {
            to: EmitTarget::Connection(connection),
            event,
            data,
        });
        Ok(())
    }

    async fn to_subscribers(&mut self, event: String, data: String) -> Result<(), Error> {
        check_event(&event)?;
        let size = data.len();
        let data = event_data(&data)?;
        let view = self.view.to_string();
        let event = format!("{view}:{event}");
        let tx = self.emitting(size)?;
        tx.emit(Emit {
            to: EmitTarget::Subscribers(view),
            event,
            data,
        });
        Ok(())
    }
}

impl log::Host for HostState {
    async fn write(&mut self, level: log::Level, message: String) {
        let message = truncate(&message, MAX_LOG_LINE);
        let view = &*self.view;
        let tenant = &*self.tenant;
        let (action, connection) = self.call.as_ref().map_or(("", ""), |call| {
            (&*call.caller.action, &*call.caller.connection)
        });
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(target: "halo::view", %tenant, %view, %action, %connection, "{message}")
            };
        }
        match level {
            log::Level::Trace => line!(trace),
            log::Level::Debug => line!(debug),
            log::Level::Info => line!(info),
            log::Level::Warn => line!(warn),
            log::Level::Error => line!(error),
        }
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

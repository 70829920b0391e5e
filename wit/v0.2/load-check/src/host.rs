//! A stand-in for the host's imports: a map of models that answers every
//! call in the right shape (it neither merges updates nor filters lists),
//! and the 0.2.0 imports delegating to the 0.1.0 ones, one line each, as
//! the host's would.

use std::collections::BTreeMap;

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::v1::halo::view::types::{Error, ErrorCode};
use crate::bindings::v1::halo::view::{collections as c1, events as e1, log as l1, types as t1};
use crate::bindings::v2::halo::view::{collections as c2, events as e2, log as l2};

pub struct HostState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub limits: StoreLimits,
    pub models: BTreeMap<(String, String), String>,
    pub next: u64,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// `model` (a JSON object's text) with `"id"` put first.
fn with_id(model: &str, id: &str) -> String {
    let rest = model.trim().trim_start_matches('{').trim();
    if rest == "}" {
        format!("{{\"id\":\"{id}\"}}")
    } else {
        format!("{{\"id\":\"{id}\",{rest}")
    }
}

impl t1::Host for HostState {}

impl c1::Host for HostState {
    async fn get(&mut self, c: String, id: String) -> Result<Option<String>, Error> {
        Ok(self.models.get(&(c, id)).cloned())
    }

    async fn list(
        &mut self,
        c: String,
        _filter: Option<String>,
        _limit: Option<u32>,
    ) -> Result<Vec<String>, Error> {
        let models = self.models.iter().filter(|((of, _), _)| *of == c);
        Ok(models.map(|(_, model)| model.clone()).collect())
    }

    async fn create(&mut self, c: String, model: String) -> Result<String, Error> {
        self.next += 1;
        let id = format!("{:032x}", self.next);
        let model = with_id(&model, &id);
        self.models.insert((c, id), model.clone());
        Ok(model)
    }

    async fn update(
        &mut self,
        c: String,
        id: String,
        _attributes: String,
        _only: Option<Vec<String>>,
    ) -> Result<String, Error> {
        self.models
            .get(&(c, id.clone()))
            .cloned()
            .ok_or_else(|| Error {
                code: ErrorCode::NotFound,
                message: format!("no model {id:?}"),
            })
    }

    async fn remove(&mut self, c: String, id: String) -> Result<bool, Error> {
        Ok(self.models.remove(&(c, id)).is_some())
    }
}

impl e1::Host for HostState {
    async fn to_client(
        &mut self,
        _connection: String,
        _event: String,
        _data: String,
    ) -> Result<(), Error> {
        Ok(())
    }

    async fn to_subscribers(&mut self, _event: String, _data: String) -> Result<(), Error> {
        Ok(())
    }
}

impl l1::Host for HostState {
    async fn write(&mut self, level: l1::Level, message: String) {
        eprintln!("[view log {level:?}] {message}");
    }
}

impl c2::Host for HostState {
    async fn get(&mut self, c: String, id: String) -> Result<Option<String>, Error> {
        c1::Host::get(self, c, id).await
    }

    async fn list(
        &mut self,
        c: String,
        filter: Option<String>,
        limit: Option<u32>,
    ) -> Result<Vec<String>, Error> {
        c1::Host::list(self, c, filter, limit).await
    }

    async fn create(&mut self, c: String, model: String) -> Result<String, Error> {
        c1::Host::create(self, c, model).await
    }

    async fn update(
        &mut self,
        c: String,
        id: String,
        attributes: String,
        only: Option<Vec<String>>,
    ) -> Result<String, Error> {
        c1::Host::update(self, c, id, attributes, only).await
    }

    async fn remove(&mut self, c: String, id: String) -> Result<bool, Error> {
        c1::Host::remove(self, c, id).await
    }
}

impl e2::Host for HostState {
    async fn to_client(
        &mut self,
        connection: String,
        event: String,
        data: String,
    ) -> Result<(), Error> {
        e1::Host::to_client(self, connection, event, data).await
    }

    async fn to_subscribers(&mut self, event: String, data: String) -> Result<(), Error> {
        e1::Host::to_subscribers(self, event, data).await
    }
}

impl l2::Host for HostState {
    /// `log`'s `level` is its own enum in each version (`with` shares only
    /// whole interfaces), so it is mapped case by case.
    async fn write(&mut self, level: l2::Level, message: String) {
        let level = match level {
            l2::Level::Trace => l1::Level::Trace,
            l2::Level::Debug => l1::Level::Debug,
            l2::Level::Info => l1::Level::Info,
            l2::Level::Warn => l1::Level::Warn,
            l2::Level::Error => l1::Level::Error,
        };
        l1::Host::write(self, level, message).await;
    }
}

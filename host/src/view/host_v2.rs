//! The `halo:view@0.2.0` imports: each delegates to its 0.1.0 twin in
//! `host`, so both versions of a view get exactly the same host. Only the
//! log level needs mapping: `with` shares the `types` interface, not an enum
//! of another one.

use super::bindings::halo::view::types::Error;
use super::bindings::halo::view::{collections as c1, events as e1, log as l1};
use super::bindings_v2::halo::view::{collections, events, log};
use super::host::HostState;

impl collections::Host for HostState {
    async fn get(&mut self, collection: String, id: String) -> Result<Option<String>, Error> {
        c1::Host::get(self, collection, id).await
    }

    async fn list(
        &mut self,
        collection: String,
        filter: Option<String>,
        limit: Option<u32>,
    ) -> Result<Vec<String>, Error> {
        c1::Host::list(self, collection, filter, limit).await
    }

    async fn create(&mut self, collection: String, model: String) -> Result<String, Error> {
        c1::Host::create(self, collection, model).await
    }

    async fn update(
        &mut self,
        collection: String,
        id: String,
        attributes: String,
        only: Option<Vec<String>>,
    ) -> Result<String, Error> {
        c1::Host::update(self, collection, id, attributes, only).await
    }

    async fn remove(&mut self, collection: String, id: String) -> Result<bool, Error> {
        c1::Host::remove(self, collection, id).await
    }
}

impl events::Host for HostState {
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

impl log::Host for HostState {
    async fn write(&mut self, level: log::Level, message: String) {
        let level = match level {
            log::Level::Trace => l1::Level::Trace,
            log::Level::Debug => l1::Level::Debug,
            log::Level::Info => l1::Level::Info,
            log::Level::Warn => l1::Level::Warn,
            log::Level::Error => l1::Level::Error,
        };
        l1::Host::write(self, level, message).await;
    }
}

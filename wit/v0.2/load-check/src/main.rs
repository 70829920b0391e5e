//! Loads each view component given on the command line into one linker that
//! has both versions' imports, under the host's default sandbox limits, and
//! calls it once over: describe, create, render, connect. It shows what the
//! host must do to serve halo:view@0.2.0 next to 0.1.0 (../README.md).
//!
//!     cargo run --release -- view.wasm ...
//!
//! The per-call figure is for a create against the stand-in store above, on
//! one warm instance: it compares components, it is not the host's cost.

mod bindings;
mod host;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bindings::v1::halo::view::types::{Client, Error, ViewSpec};
use bindings::{v1, v2};
use host::HostState;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimitsBuilder};
use wasmtime_wasi::WasiCtxBuilder;

/// A view instance of either version, called the same way.
enum Bound {
    V1(v1::View),
    V2(v2::View),
}

impl Bound {
    async fn describe(&self, store: &mut Store<HostState>) -> wasmtime::Result<ViewSpec> {
        match self {
            Self::V1(v) => v.call_describe(store).await,
            Self::V2(v) => v.halo_view_guest().call_describe(store).await,
        }
    }

    async fn handle(
        &self,
        store: &mut Store<HostState>,
        action: &str,
        client: &Client,
        data: &str,
    ) -> wasmtime::Result<Result<String, Error>> {
        match self {
            Self::V1(v) => v.call_handle(store, action, client, data).await,
            Self::V2(v) => {
                v.halo_view_guest()
                    .call_handle(store, action, client, data)
                    .await
            }
        }
    }

    async fn render(
        &self,
        store: &mut Store<HostState>,
        client: &Client,
        model: &str,
    ) -> wasmtime::Result<Option<String>> {
        match self {
            Self::V1(v) => v.call_render(store, client, model).await,
            Self::V2(v) => v.halo_view_guest().call_render(store, client, model).await,
        }
    }

    async fn connect(
        &self,
        store: &mut Store<HostState>,
        client: &Client,
    ) -> wasmtime::Result<Result<(), Error>> {
        match self {
            Self::V1(v) => v.call_connect(store, client).await,
            Self::V2(v) => v.halo_view_guest().call_connect(store, client).await,
        }
    }
}

/// WASI first, then both worlds' imports: one linker serves every view.
fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    v1::View::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
    v2::View::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
    Ok(linker)
}

fn store(engine: &Engine) -> Store<HostState> {
    let state = HostState {
        wasi: WasiCtxBuilder::new()
            .inherit_stdout()
            .inherit_stderr()
            .build(),
        table: ResourceTable::new(),
        // The host's defaults: 32 MiB of memory, 16 core instances, 8
        // memories, 16 tables.
        limits: StoreLimitsBuilder::new()
            .memory_size(32 << 20)
            .instances(16)
            .memories(8)
            .tables(16)
            .build(),
        models: BTreeMap::new(),
        next: 0,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limits);
    store
}

async fn check(engine: &Engine, linker: &Linker<HostState>, path: &str) -> wasmtime::Result<()> {
    let component = Component::from_file(engine, path)?;
    // A 0.2.0 view exports the interface `guest`; a 0.1.0 view does not.
    let is_v2 = component
        .get_export_index(None, "halo:view/guest@0.2.0")
        .is_some();
    let mut store = store(engine);
    let started = Instant::now();
    let bound = if is_v2 {
        Bound::V2(v2::View::instantiate_async(&mut store, &component, linker).await?)
    } else {
        Bound::V1(v1::View::instantiate_async(&mut store, &component, linker).await?)
    };
    let instantiated = started.elapsed();
    let spec = bound.describe(&mut store).await?;
    let alice = Client {
        id: "c1".into(),
        tenant: String::new(),
        claims: r#"{"user":"alice"}"#.into(),
    };
    // Attributes every example's create accepts.
    let data = r#"{"title":" milk ","text":"hi","sharedWith":["bob"]}"#;
    let mut per_create = None;
    if spec.handlers.iter().any(|h| h == "create") {
        let calls = 2000;
        let started = Instant::now();
        for _ in 0..calls {
            bound
                .handle(&mut store, "create", &alice, data)
                .await?
                .map_err(|err| wasmtime::Error::msg(err.message))?;
        }
        per_create = Some(started.elapsed() / calls);
    }
    let rendered = bound
        .render(&mut store, &alice, r#"{"id":"x","owner":"alice"}"#)
        .await?;
    let admitted = bound.connect(&mut store, &alice).await?.is_ok();
    println!(
        "{path}\n  halo:view@{}  view {}  handlers {:?}  render per client {}\n  instantiate {:?}  create {}  render {}  connect {}",
        if is_v2 { "0.2.0" } else { "0.1.0" },
        spec.name,
        spec.handlers,
        spec.render_per_client,
        instantiated,
        per_create.map_or("(built in)".into(), |d: Duration| format!("{d:?}/call")),
        if rendered.is_some() {
            "shown"
        } else {
            "hidden"
        },
        if admitted { "admitted" } else { "refused" },
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> wasmtime::Result<()> {
    let engine = Engine::default();
    let linker = linker(&engine)?;
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: halo-view-load-check VIEW.wasm ...");
        std::process::exit(2);
    }
    for path in &paths {
        check(&engine, &linker, path).await?;
    }
    Ok(())
}

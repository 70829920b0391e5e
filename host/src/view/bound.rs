//! A view component of either WIT version, called the same way: the version
//! is decided once per component, by its exports, and every call is one
//! `match` on it.

use wasmtime::Store;
use wasmtime::component::{Component, InstancePre};

use super::bindings::halo::view::types::{Client, Error, ViewSpec};
use super::host::HostState;
use super::{bindings, bindings_v2};

/// The versions of `halo:view` the host loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wit {
    /// `wit/view.wit`: the four functions exported at the top of the world.
    V1,
    /// `wit/v0.2/view.wit`: the same four in the interface `guest`.
    V2,
}

/// The interface only a 0.2.0 view exports.
const GUEST_V2: &str = "halo:view/guest@0.2.0";

impl Wit {
    /// The version `component` implements: 0.2.0 when it exports
    /// `halo:view/guest@0.2.0`, else 0.1.0 (which linking then checks).
    pub fn of(component: &Component) -> Self {
        if component.get_export_index(None, GUEST_V2).is_some() {
            Self::V2
        } else {
            Self::V1
        }
    }

    /// The package, as `halo check` and the admin endpoint name it.
    pub fn package(self) -> &'static str {
        match self {
            Self::V1 => "halo:view@0.1.0",
            Self::V2 => "halo:view@0.2.0",
        }
    }
}

/// A component linked and type-checked against its world, ready to
/// instantiate.
#[derive(Clone)]
pub(super) enum Pre {
    V1(bindings::ViewPre<HostState>),
    V2(bindings_v2::ViewPre<HostState>),
}

impl Pre {
    /// Checks `pre`'s exports against the world of version `wit`.
    pub fn new(wit: Wit, pre: InstancePre<HostState>) -> wasmtime::Result<Self> {
        Ok(match wit {
            Wit::V1 => Self::V1(bindings::ViewPre::new(pre)?),
            Wit::V2 => Self::V2(bindings_v2::ViewPre::new(pre)?),
        })
    }

    pub fn wit(&self) -> Wit {
        match self {
            Self::V1(_) => Wit::V1,
            Self::V2(_) => Wit::V2,
        }
    }

    pub async fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<Bound> {
        Ok(match self {
            Self::V1(pre) => Bound::V1(pre.instantiate_async(store).await?),
            Self::V2(pre) => Bound::V2(pre.instantiate_async(store).await?),
        })
    }
}

/// A live instance's exports.
pub(super) enum Bound {
    V1(bindings::View),
    V2(bindings_v2::View),
}

impl Bound {
    pub async fn describe(&self, store: &mut Store<HostState>) -> wasmtime::Result<ViewSpec> {
        match self {
            Self::V1(v) => v.call_describe(store).await,
            Self::V2(v) => v.halo_view_guest().call_describe(store).await,
        }
    }

    pub async fn handle(
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

    pub async fn render(
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

    pub async fn connect(
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

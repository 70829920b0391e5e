//! Write halo views: WebAssembly components that decide what Backbone clients
//! may do with a collection and how each model looks to each client.
//!
//! A view is a [`View`] built from a name, defaults, the routes clients may
//! use and the handlers it overrides; everything else runs natively in the
//! host. [`export_view!`] turns the function that builds it into the
//! component's exports. The original halo README's example, whole:
//!
//! ```no_run
//! //! The original halo README's example view.
//! use halo_sdk::prelude::*;
//!
//! fn my_models() -> View {
//!     View::new("MyModels")
//!         .defaults(json!({ "someProperty": "a default value" }))
//!         .routes([Create, Read, Update, List])
//!         // Clients may change only `someProperty`.
//!         .on(Update, |req| {
//!             let model = req.collection().update(req.id()?, req.data(), Some(&["someProperty"]))?;
//!             req.render(model)
//!         })
//! }
//!
//! halo_sdk::export_view!(my_models);
//! # fn main() {}
//! ```
//!
//! Build with `cargo build --target wasm32-wasip2 --release`; the `.wasm` in
//! `target/wasm32-wasip2/release/` goes into the host's `plugins/` folder.
//! Test natively with `cargo test --target host-tuple`: off wasm, collections,
//! events and the log are an in-memory fake that `testing` drives.
//! Inside the sandbox there is no filesystem, network, environment or
//! arguments; `println!` and `eprintln!` reach the host's log, and so does
//! the message of a panic, which fails the request with `plugin_failed`.
//!
//! Modules:
//! * [`view`]: the [`View`] builder and the [`Action`]s clients invoke.
//! * [`request`]: the [`Request`] a handler serves and the [`Client`] behind it.
//! * [`collection`](mod@collection): read and write the tenant's collections.
//! * [`events`]: push custom events to clients.
//! * [`log`]: write to the host's log.
//! * [`error`]: the [`Error`] a client receives, by code.
//! * `testing` (not on wasm): unit-test a view with `cargo test` against an
//!   in-memory host.
//! * [`prelude`]: everything a view usually needs, in one `use`.

extern crate self as halo_sdk;

#[cfg(any(test, all(target_arch = "wasm32", not(target_feature = "atomics"))))]
mod blocks;
pub mod collection;
pub mod error;
pub mod events;
mod export;
pub mod log;
mod print;
pub mod request;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod view;

/// Small blocks from free lists (see `blocks`): a view's allocations cost a
/// tenth of what dlmalloc's did. A view that installs an allocator of its
/// own turns the SDK's `blocks` feature off.
#[cfg(all(
    target_arch = "wasm32",
    not(target_feature = "atomics"),
    feature = "blocks"
))]
#[global_allocator]
static ALLOCATOR: blocks::Blocks = blocks::Blocks::new();

pub use collection::{Collection, collection};
pub use error::{Error, ErrorCode, Result};
pub use request::{Client, Request};
/// The JSON library of the SDK's API, e.g. for `serde_json::from_value`.
pub use serde_json;
pub use view::{Action, View};

/// Everything a view usually needs: `use halo_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::Action::{self, Create, Delete, List, Patch, Read, Update};
    pub use crate::{
        Client, Collection, Error, ErrorCode, Request, Result, View, collection, events, log,
    };
    pub use serde_json::{Map, Value, json};
}

/// Exports the view that `$build` (a `fn() -> View`) describes as this
/// component's `describe`, `handle`, `render` and `connect`.
///
/// Use it once, in a `cdylib` crate. The view is built on the first call into
/// the instance and kept for the instance's life.
///
/// Off wasm it exports nothing: there is no host to call the exports, and a
/// native symbol named `connect` would stand in for libc's in a test binary.
#[macro_export]
macro_rules! export_view {
    ($build:expr $(,)?) => {
        // Natively `$build` is still used, so it is not dead code in tests.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() -> $crate::View = $build;

        #[cfg(target_arch = "wasm32")]
        #[allow(
            unsafe_code,
            reason = "the component ABI glue wit-bindgen generates is unsafe"
        )]
        const _: () = {
            use $crate::bindings as __bindings;

            ::std::thread_local! {
                // Built once per instance: a view is fixed for the instance's life.
                static VIEW: $crate::View = ($build)();
            }

            struct HaloView;

            impl __bindings::Guest for HaloView {
                fn describe() -> __bindings::ViewSpec {
                    VIEW.with($crate::__private::describe)
                }
                fn handle(
                    action: ::std::string::String,
                    client: __bindings::Client,
                    data: ::std::string::String,
                ) -> ::std::result::Result<::std::string::String, __bindings::Error> {
                    VIEW.with(|view| $crate::__private::handle(view, action, client, data))
                }
                fn render(
                    client: __bindings::Client,
                    model: ::std::string::String,
                ) -> ::std::option::Option<::std::string::String> {
                    VIEW.with(|view| $crate::__private::render(view, client, model))
                }
                fn connect(
                    client: __bindings::Client,
                ) -> ::std::result::Result<(), __bindings::Error> {
                    VIEW.with(|view| $crate::__private::connect(view, client))
                }
            }

            $crate::bindings::__export_view_bindings!(
                HaloView with_types_in $crate::bindings
            );
        };
    };
}

#[doc(hidden)]
pub mod bindings;

/// Glue for [`export_view!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::export::{connect, describe, handle, render};
    pub use wit_bindgen;
}

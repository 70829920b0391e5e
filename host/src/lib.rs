//! halo: a real-time backend for Backbone.js apps. Clients sync models and
//! collections over Socket.IO; views, WebAssembly components in a plugins
//! folder, decide what each client may do and see.
//!
//! * `server`: starts a host on a bound listener.
//! * `settings`: `halo.toml`, beneath `HALO_*` variables and flags.
//! * `http`: the browser files and the Socket.IO endpoint.
//! * `sync`: Socket.IO events in, acks and pushes out.
//! * `request`: one `<View>:<action>` request, built-in or custom.
//! * `broadcast`: pushes derived from a committed write set.
//! * `tenants`: the tenants folder: namespaces, lazy loading, idle unloading.
//! * `tenant`: an isolated app: its store, views, limits and keys.
//! * `probes`: `/healthz`, `/readyz` and `/metrics`.
//! * `metrics`: Prometheus metrics at `/metrics`.
//! * `drain`: requests in flight, finished before a shutdown closes sockets.
//! * `admin`: the token-protected JSON endpoint for operators.
//! * `demo`: demo users' sign-in tokens for the notes demo.
//! * `dev`: `halo dev`, rebuilding view crates on save.
//! * `scaffold`: `halo new`, a view crate to start from.
//! * `catalog`: a tenant's live views, swapped on hot reload.
//! * `folder`: a watched plugins folder feeding a catalog.
//! * `view`: loads view components and runs them in a sandbox.
//! * `ops`: recent client operation ids, so a retried write applies once.
//! * `tx`: one request's transaction.
//! * `store`: persistent collections (SQLite by default).
//! * `client`: who a request comes from.
//! * `wire`: errors as clients see them.

pub mod admin;
pub mod broadcast;
pub mod catalog;
pub mod client;
pub mod demo;
pub mod dev;
pub mod drain;
pub mod folder;
pub mod http;
pub mod metrics;
pub mod ops;
pub mod probes;
pub mod request;
pub mod scaffold;
pub mod server;
pub mod settings;
pub mod store;
pub mod sync;
pub mod tenant;
pub mod tenants;
pub mod tx;
pub mod view;
pub mod wire;

pub use server::{Config, serve};

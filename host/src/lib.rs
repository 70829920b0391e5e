//! halo: a real-time backend for Backbone.js apps. Clients sync models and
//! collections over Socket.IO; views, WebAssembly components in a plugins
//! folder, decide what each client may do and see.
//!
//! The modules, from the edge inwards:
//!
//! * `cli`: the `halo` command line, one file per command.
//! * `server`: starts a host on a bound listener.
//! * `http`, `probes`, `admin`, `demo`: the HTTP routes.
//! * `socket`: the Socket.IO adapter: namespaces, admission, each
//!   connection's queue of events, acks and pushes on the wire.
//! * `request`: one `<View>:<action>` request, read top to bottom.
//! * `broadcast`: a tenant's broadcaster task: commits into pushes, in the
//!   order the `sequencer` decides.
//! * `sequencer`: the order clients see (commits, holds, acks), pure.
//! * `render`: how a model looks to each audience.
//! * `push`: the four Backbone pushes and their event names.
//! * `subscription`: rooms, joined and left by requests.
//! * `event`: `<View>:<action>`, parsed once.
//! * `ops`: recent client operation ids, so a retried write applies once.
//! * `tenant`: an isolated app (store, views, limits, keys) and the
//!   registry of every tenant.
//! * `view`: loads view components and runs them in a sandbox.
//! * `applied`: a tenant's writes applied but not yet durable, over its
//!   store; write requests take their turn one at a time.
//! * `tx`: one request's transaction.
//! * `store`: persistent collections (SQLite by default; PostgreSQL when
//!   shared by the nodes of a cluster).
//! * `cluster`: a node among others: the change feed over Redis, and each
//!   node's connection counts.
//! * `data_dir`: every path under the data folder.
//! * `settings`: `halo.toml`, beneath `HALO_*` variables and flags.
//! * `metrics`: Prometheus metrics.
//! * `drain`: requests in flight, finished before a shutdown closes sockets.
//! * `dev`, `scaffold`: `halo dev` and `halo new`.
//! * `client`: who a request comes from.
//! * `wire`: errors as clients see them.
//! * `allocator`: the process's allocator (mimalloc).

mod admin;
pub mod allocator;
mod applied;
mod broadcast;
pub mod cli;
pub mod client;
mod cluster;
mod data_dir;
mod demo;
mod dev;
mod drain;
mod event;
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod metrics;
mod ops;
mod probes;
mod push;
mod render;
mod reply;
pub mod request;
mod scaffold;
mod sequencer;
mod server;
mod settings;
mod socket;
pub mod store;
mod subscription;
pub mod tenant;
mod tx;
pub mod view;
mod watch;
pub mod wire;

pub use data_dir::DataDir;
pub use server::{Config, serve};

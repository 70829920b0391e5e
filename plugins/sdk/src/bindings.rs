//! Bindings for `wit/view.wit`, generated once here for every view crate;
//! `export_view!` exports through them.
#![allow(
    unsafe_code,
    clippy::too_many_arguments,
    reason = "generated component ABI glue"
)]

wit_bindgen::generate!({
    path: "../../wit",
    world: "view",
    pub_export_macro: true,
    export_macro_name: "__export_view_bindings",
    default_bindings_module: "::halo_sdk::bindings",
    runtime_path: "::halo_sdk::__private::wit_bindgen::rt",
});

//! The host side of `halo:view@0.1.0` (`wit/view.wit`), generated in this
//! one place; `bindings_v2` reuses its records.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "view",
    imports: { default: async },
    exports: { default: async },
});

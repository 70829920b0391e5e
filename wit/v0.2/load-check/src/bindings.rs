//! Both versions of the `halo:view` world, bound side by side. 0.2.0 takes
//! its records from 0.1.0 (`with`), so `Client`, `Error` and `ViewSpec` are
//! one set of types for both.

pub mod v1 {
    wasmtime::component::bindgen!({
        path: "../../view.wit",
        world: "view",
        imports: { default: async },
        exports: { default: async },
    });
}

pub mod v2 {
    wasmtime::component::bindgen!({
        path: "../view.wit",
        world: "view",
        imports: { default: async },
        exports: { default: async },
        with: { "halo:view/types@0.2.0": crate::bindings::v1::halo::view::types },
    });
}

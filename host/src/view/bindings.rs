//! The host side of the `halo:view` WIT world, generated in this one place.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "view",
    imports: { default: async },
    exports: { default: async },
});

//! The host side of `halo:view@0.2.0` (`wit/v0.2/view.wit`), generated next
//! to 0.1.0's. The records come from 0.1.0 (`with`): the component model
//! checks records by shape, not by name, so one `Client`, `Error` and
//! `ViewSpec` serve both versions, and so does the code that handles them.

wasmtime::component::bindgen!({
    path: "../wit/v0.2",
    world: "view",
    imports: { default: async },
    exports: { default: async },
    with: { "halo:view/types@0.2.0": super::bindings::halo::view::types },
});

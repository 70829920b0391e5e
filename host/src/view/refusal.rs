//! Why a component that is not a loadable view was refused, said so its
//! author can act: what it lacks or has too much of, the build flag that
//! fixes it when a known toolchain made it so, and wasmtime's whole error
//! chain after that.

use wasmtime::component::Component;

use super::bound::Wit;
use super::host::{MAX_CORE_INSTANCES, MAX_MEMORIES, MAX_TABLES};
use super::{FailReason, LoadError};

/// Interface packages a view may import: the host's own, and the WASI 0.2
/// packages `wasmtime-wasi` links (sockets are linked, then denied).
const PROVIDED: [&str; 7] = [
    "halo:view/",
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:io/",
    "wasi:random/",
    "wasi:sockets/",
];

/// The versions of `halo:view` this host links.
const HALO_VERSIONS: [&str; 2] = ["@0.1.0", "@0.2.0"];

/// The four functions a 0.1.0 view exports at the top of its world.
const V1_EXPORTS: [&str; 4] = ["describe", "handle", "render", "connect"];

/// The fix for a JavaScript build that imports `wasi:http`.
const HTTP_HINT: &str = "a SpiderMonkey build (componentize-js, the default backend of `jco componentize`) imports it unless told not to: \
     build with halo-view-build (QuickJS, in plugins/sdk-js), with `jco componentize --backend quickjs --backend-qjs-disable-async`, \
     or with componentize-js `-d http fetch-event`";

/// The fix for a build that uses the component model's async ABI.
const ASYNC_HINT: &str = "it uses the component model's async ABI, which halo does not enable (a view runs inside one synchronous call); \
     a QuickJS build without --sync does: build with halo-view-build (plugins/sdk-js, which passes --sync), \
     `componentize-qjs --sync`, or `jco componentize --backend quickjs --backend-qjs-disable-async`";

/// A component that failed to compile: its reason (wasmtime's error chain),
/// with a hint when a known build setting causes it.
pub(super) fn uncompilable(chain: String) -> LoadError {
    let hint = if chain.contains("component model async feature") {
        Some(ASYNC_HINT.to_owned())
    } else if chain.contains("feature") && chain.contains("requires") {
        Some("it uses a WebAssembly feature halo does not enable".to_owned())
    } else {
        None
    };
    LoadError::Invalid { hint, chain }
}

/// A compiled component that does not link against, or export, the world of
/// version `wit`.
pub(super) fn unlinkable(
    engine: &wasmtime::Engine,
    component: &Component,
    wit: Wit,
    err: &wasmtime::Error,
) -> LoadError {
    let ty = component.component_type();
    let imports: Vec<&str> = ty.imports(engine).map(|(name, _)| name).collect();
    let exports: Vec<&str> = ty.exports(engine).map(|(name, _)| name).collect();
    let mut lacks = Vec::new();

    let http: Vec<&str> = imports
        .iter()
        .copied()
        .filter(|name| name.starts_with("wasi:http/"))
        .collect();
    if !http.is_empty() {
        lacks.push(format!(
            "it imports {}, which halo does not give views; {HTTP_HINT}",
            http.join(", ")
        ));
    }
    let halo: Vec<&str> = imports
        .iter()
        .copied()
        .filter(|name| {
            name.starts_with("halo:view/") && !HALO_VERSIONS.iter().any(|v| name.ends_with(v))
        })
        .collect();
    if !halo.is_empty() {
        lacks.push(format!(
            "it imports {}: this halo loads halo:view@0.1.0 and @0.2.0; build it with the SDK of this halo",
            halo.join(", ")
        ));
    }
    let foreign: Vec<&str> = imports
        .iter()
        .copied()
        .filter(|name| {
            !name.starts_with("wasi:http/") && !PROVIDED.iter().any(|p| name.starts_with(p))
        })
        .collect();
    if !foreign.is_empty() {
        lacks.push(format!(
            "it imports {}, which halo does not provide (views may import halo:view and WASI 0.2's cli, clocks, filesystem, io, random)",
            foreign.join(", ")
        ));
    }
    let is_view = wit == Wit::V2 || V1_EXPORTS.iter().all(|name| exports.contains(name));
    if !is_view {
        lacks.push(format!(
            "it exports no view: a 0.1.0 view exports {} at the top of its world, a 0.2.0 view the interface halo:view/guest@0.2.0; this component exports {}",
            V1_EXPORTS.join(", "),
            if exports.is_empty() {
                "nothing".to_owned()
            } else {
                exports.join(", ")
            }
        ));
    }
    LoadError::Unlinkable {
        wit: wit.package(),
        lacks: lacks.join("; "),
        chain: format!("{err:#}"),
    }
}

/// A component whose first instance failed while starting or describing
/// itself; a limit on what one view may instantiate is named with its
/// value.
pub(super) fn describe_failed(reason: FailReason, detail: &str) -> LoadError {
    if detail.contains("count too high") {
        return LoadError::Describe(format!(
            "{detail}: a view may create at most {MAX_CORE_INSTANCES} core instances, {MAX_MEMORIES} memories and {MAX_TABLES} tables"
        ));
    }
    LoadError::Describe(format!("{reason}: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_async_build_is_told_to_build_with_sync() {
        let err = uncompilable(
            "failed to parse WebAssembly module: `task.cancel` requires the component model async feature (at offset 0x1a4576)".into(),
        );
        let text = err.to_string();
        assert!(text.contains("--backend-qjs-disable-async"), "{text}");
        assert!(
            text.contains("`task.cancel` requires"),
            "the chain stays: {text}"
        );
    }

    #[test]
    fn other_compile_errors_are_shown_as_they_are() {
        let text = uncompilable("magic header not detected".into()).to_string();
        assert_eq!(
            text,
            "not a valid halo view component: magic header not detected"
        );
    }
}

// The host's imports as the SDK reaches them: `collections`, `events` and
// `log`, shaped like the WIT bindings (functions throw an `Error` whose
// `payload` is the WIT `error`). In a component the build's entry binds the
// real imports; under `node --test`, `halo-sdk/testing` binds an in-memory
// host. Keeping the SDK free of `halo:view/...` imports is what lets the same
// view module run in both.

let bound = null;

/** Makes `imports` (`{collections, events, log}`) the host every SDK call reaches. */
export function bindHost(imports) {
  bound = imports;
}

/** The bound host; throws when there is none, e.g. a view run by plain node. */
export function host() {
  if (bound === null) {
    throw new Error(
      'halo-sdk: no host is bound: build the view with halo-view-build, or import halo-sdk/testing in tests',
    );
  }
  return bound;
}

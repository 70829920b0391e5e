// What the in-memory host calls: the four exports of a view, whether a `View`
// run in this process (through the SDK's export glue) or a built component
// (see `component.js`). Both take and return what the WIT bindings pass and
// throw an `Error` whose `payload` is the WIT error, so one host serves both.

import * as guest from '../guest.js';
import { View } from '../view.js';

/** The view, its spec parsed once, and its exports. */
export function target(view) {
  if (view && view[TARGET]) return view[TARGET];
  if (view && typeof view.describe === 'function' && typeof view.handle === 'function') return fromExports(view);
  const v = guest.resolveView(view instanceof View ? view : view?.default ?? view);
  return withSpec({
    describe: () => guest.describe(v),
    handle: (action, client, data) => guest.handle(v, action, client, data),
    render: (client, model) => guest.render(v, client, model),
    connect: (client) => guest.connect(v, client),
  });
}

const TARGET = Symbol('halo-test-target');

/** A component's exports, kept on them so `describe` runs once. */
function fromExports(exports) {
  const made = withSpec(exports);
  Object.defineProperty(exports, TARGET, { value: made });
  return made;
}

function withSpec(exports) {
  const spec = exports.describe();
  return {
    name: spec.name,
    collection: spec.collection,
    defaults: JSON.parse(spec.defaults),
    routes: spec.routes,
    handlers: spec.handlers,
    renderPerClient: spec.renderPerClient,
    connect: spec.connect,
    exports,
  };
}

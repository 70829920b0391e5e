// Unit-test a view with `node --test` against an in-memory host. Importing
// this module binds it: the SDK's collection, events and log calls then reach
// a fake host kept in memory, and these functions seed and inspect it and call
// a view the way halo would.
//
// * `call(view, action, client, data)`: one client's `<View>:<action>`
//   request, answered with what that client's ack would carry (or throwing
//   the `ViewError` it would carry). The route must be allowed; the view's
//   handler runs if it has one (`patch` falls back to `update`'s), otherwise
//   the built-in runs as the host runs it natively. All writes of the call
//   are one transaction, kept only when it succeeds; so are its events.
// * `render` and `connect`: the per-client render and connection check.
//   Like in the host, they may read but not write.
// * `insert`, `seed`, `models`, `model`: set up and inspect collections
//   directly, bypassing any view.
// * `events`, `takeEvents`, `logs`: what was sent and logged.
// * `reset`: start over (call it in `beforeEach`).
//
// It follows the host's documented semantics: ids assigned on create, shaped
// like the host's (32 hex digits of a UUIDv7; here from a counter, so they
// repeat from run to run); `list` in creation order, filtered by equality
// and limited; `update` merges and never changes `id`; `remove` tells whether
// the model existed; the per-call caps and name checks. What it does not
// model is the wire: subscriptions, pushes, other connections, tenants.

import { ViewError, fromImport } from '../errors.js';
import { bindHost } from '../host.js';
import { isObject, jsonEqual } from '../json.js';
import { Client } from '../request.js';
import { actionName } from '../view.js';
import * as builtin from './builtin.js';
import * as imports from './imports.js';
import { clear, find, inCall, newId, push, state } from './state.js';
import { target } from './target.js';

export { Client };

/** The fake host's imports, shaped like the WIT bindings; `component.js` links them into components. */
export const hostImports = { collections: imports.collections(jsonEqual), events: imports.events, log: imports.log };

bindHost(hostImports);

/** Empties the fake host: collections, events, log lines, and the id counter. */
export function reset() {
  clear();
}

/** A JSON round trip: what crosses the component boundary as text. */
function wire(value) {
  return JSON.stringify(value === undefined ? null : value);
}

/** Runs a guest export, turning its thrown WIT error back into a `ViewError`. */
function guestCall(fn) {
  try {
    return fn();
  } catch (thrown) {
    throw fromImport(thrown);
  }
}

/** How the host renders `model` for `client` through view target `t` (null hides). */
function renderFor(t, client) {
  return (model) => {
    if (!t.renderPerClient) return model;
    const text = inCall(t.name, false, () => guestCall(() => t.exports.render(client.toWit(), JSON.stringify(model))));
    return text === undefined || text === null ? null : JSON.parse(text);
  };
}

/**
 * Calls `view` as halo does when `client` emits `<View>:<action>` with
 * `data`, and returns what the ack would carry; a refusal throws the
 * `ViewError` the client would receive. `disconnect` answers `true`.
 */
export function call(view, action, client, data = null) {
  const t = target(view);
  const name = actionName(action);
  if (name === 'disconnect') return true;
  if (!t.routes.includes(name)) throw ViewError.forbidden(`view ${t.name} does not allow ${name}`);
  const handler = t.handlers.includes(name)
    ? name
    : name === 'patch' && t.handlers.includes('update') ? 'update' : null;
  if (handler === null) return builtin.run(t, name, client, JSON.parse(wire(data)), renderFor(t, client));
  return inCall(t.name, true, () => {
    const text = guestCall(() => t.exports.handle(handler, client.toWit(), wire(data)));
    try {
      return JSON.parse(text);
    } catch {
      throw ViewError.unavailable('handle returned text that is not JSON');
    }
  });
}

/**
 * How `model` looks to `client` through `view`: `null` when the view hides
 * it, the model unchanged when it does not render per client.
 */
export function render(view, client, model) {
  return renderFor(target(view), client)(JSON.parse(wire(model)));
}

/** Whether `view` admits the new connection `client`: returns, or throws the refusal. */
export function connect(view, client) {
  const t = target(view);
  if (!t.connect) return;
  inCall(t.name, false, () => guestCall(() => t.exports.connect(client.toWit())));
}

/**
 * Stores `model` in `collection` directly, as test data, and returns a copy
 * as stored. It keeps an `id` that is a non-empty string (replacing a model
 * with that id); otherwise it gets a fresh id. Throws unless `model` is an
 * object.
 */
export function insert(collection, model) {
  if (!isObject(model)) {
    throw new TypeError(`testing.insert(${JSON.stringify(collection)}, ...): a model must be a JSON object, not ${JSON.stringify(model)}`);
  }
  const stored = JSON.parse(JSON.stringify(model));
  stored.id = typeof stored.id === 'string' && stored.id !== '' ? stored.id : newId();
  const existing = find(collection, stored.id);
  if (existing === null) {
    push(collection, stored);
  } else {
    for (const key of Object.keys(existing)) delete existing[key];
    Object.assign(existing, stored);
  }
  return JSON.parse(JSON.stringify(stored));
}

/** Stores each of `models` with `insert`; returns them as stored. */
export function seed(collection, models) {
  return models.map((m) => insert(collection, m));
}

/** Copies of the models of `collection`, in creation order. */
export function models(collection) {
  return JSON.parse(JSON.stringify(state.collections.get(collection) ?? []));
}

/** A copy of the model `id` of `collection`, or `null`. */
export function model(collection, id) {
  const found = find(collection, id);
  return found === null ? null : JSON.parse(JSON.stringify(found));
}

/**
 * The events sent so far, oldest first: `{to: 'client', connection, name,
 * data}` or `{to: 'subscribers', name, data}`, from calls that succeeded and
 * from outside a call.
 */
export function events() {
  return structuredClone(state.events);
}

/** Like `events`, and forgets them, so the next call's come alone. */
export function takeEvents() {
  const taken = state.events;
  state.events = [];
  return taken;
}

/** The lines written to the log so far, `{level, message}`, including those of calls that failed. */
export function logs() {
  return structuredClone(state.logs);
}


/**
 * The spec the host reads from `view` when it loads it (`defaults` parsed):
 * name, collection, defaults, routes, handlers, and whether it renders per
 * client and checks connections.
 */
export function spec(view) {
  const described = target(view).exports.describe();
  return { ...described, defaults: JSON.parse(described.defaults) };
}

// Runs a `View` behind the component's exports: the four functions of the
// WIT world (`describe`, `handle`, `render`, `connect`), taking and returning
// what the bindings pass. The build's entry exports them; the in-memory test
// host calls them too, so tests cross the same JSON-text boundary as halo.

import { ViewError, toExport } from './errors.js';
import * as log from './log.js';
import { Client, Request } from './request.js';
import { View, actionName } from './view.js';

/** The WIT `view-spec` of `view`, read once by the host when it loads the component. */
export function describe(view) {
  return {
    name: view.name,
    collection: view.collectionName,
    defaults: JSON.stringify(view.defaultAttributes),
    routes: view.allowedRoutes,
    handlers: view.handlerNames,
    renderPerClient: view.rendersPerClient,
    connect: view.connectCheck !== null,
  };
}

/**
 * Anything but a `ViewError` is a bug in the view: it is logged with its
 * stack and thrown on, which traps (the client gets `plugin_failed`), as a
 * panic does in a Rust view.
 */
function rethrow(where, thrown) {
  if (thrown instanceof ViewError) throw toExport(thrown);
  const detail = thrown instanceof Error ? (thrown.stack ? `${thrown}\n${thrown.stack}` : String(thrown)) : JSON.stringify(thrown);
  try {
    log.error(`${where} failed: ${detail}`);
  } catch {
    // No host to log to; the trap still says what failed.
  }
  throw thrown;
}

/** Whether `value` is a promise: views run synchronously, inside one call. */
function isThenable(value) {
  return value !== null && typeof value === 'object' && typeof value.then === 'function';
}

/**
 * Runs the handler of `action` (for `patch` without one, that of `update`)
 * and returns its result as JSON text; an action without one is
 * `forbidden`, data that is not JSON `invalid`.
 */
export function handle(view, action, client, data) {
  try {
    const name = actionName(action);
    const handler = view.handler(name);
    if (handler === null) throw ViewError.forbidden(`${view.name} does not handle ${name}`);
    // An event sent without data may arrive as empty text: treat it as `null`.
    let parsed = null;
    if (data.trim() !== '') {
      try {
        parsed = JSON.parse(data);
      } catch {
        throw ViewError.invalid('the request data is not JSON');
      }
    }
    const result = handler(new Request(view, name, Client.fromWit(client), parsed));
    if (isThenable(result)) {
      throw new TypeError(`the ${name} handler returned a promise: handlers must be synchronous`);
    }
    return JSON.stringify(result === undefined ? null : result);
  } catch (thrown) {
    return rethrow(`${view.name}:${action}`, thrown);
  }
}

/**
 * How `model` (JSON text) looks to `client`: JSON text, or `undefined` to hide
 * it. Unchanged without a render function; hidden when it is not JSON or the
 * render function throws a `ViewError` (a failing privacy check hides rather
 * than shows).
 */
export function render(view, client, model) {
  if (!view.rendersPerClient) return model;
  let parsed;
  try {
    parsed = JSON.parse(model);
  } catch {
    return undefined;
  }
  try {
    const rendered = view.renderFor(Client.fromWit(client), parsed);
    return rendered === null ? undefined : JSON.stringify(rendered);
  } catch (thrown) {
    if (thrown instanceof ViewError) {
      log.debug(`render hid a model: ${thrown.code}: ${thrown.message}`);
      return undefined;
    }
    return rethrow(`${view.name} render`, thrown);
  }
}

/** Admits (returns) or refuses (throws the WIT error) a connection; admits all without a check. */
export function connect(view, client) {
  const check = view.connectCheck;
  if (check === null) return;
  try {
    check(Client.fromWit(client));
  } catch (thrown) {
    rethrow(`${view.name} connect`, thrown);
  }
}

/**
 * The view a module's default export stands for: a `View`, or a function
 * that builds one (called once, as Rust's `export_view!` does).
 */
export function resolveView(exported) {
  const view = typeof exported === 'function' && !(exported instanceof View) ? exported() : exported;
  if (!(view instanceof View)) {
    throw new TypeError('halo-sdk: the view module must `export default` a View (or a function returning one)');
  }
  return view;
}

/** The four exports for `view`, as the WIT world names them. */
export function guest(view) {
  return {
    describe: () => describe(view),
    handle: (action, client, data) => handle(view, action, client, data),
    render: (client, model) => render(view, client, model),
    connect: (client) => connect(view, client),
  };
}

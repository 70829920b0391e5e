// The `View` builder: what a view is, which actions clients may invoke, and
// the handlers it overrides. Everything it does not override runs natively
// in the host.

import { isObject } from './json.js';

/** The built-in actions; any other name is a custom action. */
export const Action = Object.freeze({
  /** Store a new model (Backbone `save` of a new model). */
  Create: 'create',
  /** Fetch one model by `id`. */
  Read: 'read',
  /** Replace a model's attributes; also serves `patch` without a handler of its own. */
  Update: 'update',
  /** Change some attributes of a model. */
  Patch: 'patch',
  /** Remove a model (also sent as `destroy`). */
  Delete: 'delete',
  /** Fetch the whole view. */
  List: 'list',
});

/** The action named `name`: `destroy` is `delete`, as in the host. */
export function actionName(name) {
  const text = String(name);
  return text === 'destroy' ? Action.Delete : text;
}

/**
 * A view: its name, backing collection, defaults, the actions clients may
 * invoke, and the handlers, render function and connection check it
 * overrides. Every setter returns the view, so it reads as one chain:
 *
 *     export default new View('Todos')
 *       .defaults({ title: '', completed: false })
 *       .routes(['create', 'read', 'update', 'patch', 'delete', 'list'])
 *       .on('create', (req) => req.render(req.collection().create(req.withDefaults(req.data))));
 */
export class View {
  #name;
  #collection = null;
  #defaults = {};
  /** Routes in the order given; no duplicates. */
  #routes = [];
  /** One handler per action, in the order registered. */
  #handlers = new Map();
  #render = null;
  #connect = null;

  /**
   * A view named `name`: the first segment of the Backbone `url` and the
   * prefix of every event (`<name>:<action>`). It starts with no routes, no
   * defaults, and the collection of the same name.
   */
  constructor(name) {
    this.#name = String(name);
  }

  /** Backs the view with collection `name` instead of the view's name. */
  collection(name) {
    this.#collection = String(name);
    return this;
  }

  /**
   * Attributes every model created through this view starts with. The host
   * applies them on its native `create`; a custom `create` handler applies
   * them with `req.withDefaults`. Throws unless `defaults` is an object: the
   * view then fails to build.
   */
  defaults(defaults) {
    if (!isObject(defaults)) {
      throw new TypeError(`view ${JSON.stringify(this.#name)}: defaults must be a JSON object, not ${JSON.stringify(defaults)}`);
    }
    this.#defaults = JSON.parse(JSON.stringify(defaults));
    return this;
  }

  /**
   * Allows clients to invoke `routes` (built-in action names or custom ones)
   * in addition to those allowed already. Anything else is refused with
   * `forbidden` before the view is called.
   */
  routes(routes) {
    for (const route of routes) this.#allow(actionName(route));
    return this;
  }

  /**
   * Serves `action` with `handler(req)` instead of the host's built-in, and
   * allows the action if it is not a route yet. The handler returns what the
   * client's ack carries (any JSON value) or throws a `ViewError`; a later
   * `on` for the same action replaces it. `patch` without a handler of its
   * own uses the `update` handler.
   */
  on(action, handler) {
    if (typeof handler !== 'function') throw new TypeError(`view ${this.#name}: the handler of ${action} is not a function`);
    const name = actionName(action);
    this.#allow(name);
    this.#handlers.set(name, handler);
    return this;
  }

  /**
   * Decides how each model looks to each client: `render(client, model)`
   * returns what to send, or `null` to hide the model from that client. The
   * host then calls it for every model it sends, to every client. Decide on
   * `client.claims`, not `client.id`: one call may stand for several
   * connections with the same claims.
   */
  render(render) {
    if (typeof render !== 'function') throw new TypeError(`view ${this.#name}: render is not a function`);
    this.#render = render;
    return this;
  }

  /**
   * Admits (returns) or refuses (throws a `ViewError`, sent to the client)
   * every new connection of the tenant, e.g. by checking its claims.
   */
  connect(connect) {
    if (typeof connect !== 'function') throw new TypeError(`view ${this.#name}: connect is not a function`);
    this.#connect = connect;
    return this;
  }

  /** The view's name. */
  get name() {
    return this.#name;
  }

  /** The name of the collection the view exposes. */
  get collectionName() {
    return this.#collection ?? this.#name;
  }

  /** A copy of the attributes every created model starts with. */
  get defaultAttributes() {
    return JSON.parse(JSON.stringify(this.#defaults));
  }

  /** The actions clients may invoke. */
  get allowedRoutes() {
    return [...this.#routes];
  }

  /** The actions the view has handlers for, in the order registered. */
  get handlerNames() {
    return [...this.#handlers.keys()];
  }

  /** Whether the host must call `render` for every model it sends. */
  get rendersPerClient() {
    return this.#render !== null;
  }

  /** The connection check, or `null` when the view admits everyone. */
  get connectCheck() {
    return this.#connect;
  }

  /** The handler that serves `action`: its own, or for `patch` that of `update`. */
  handler(action) {
    const name = actionName(action);
    return this.#handlers.get(name) ?? (name === Action.Patch ? this.#handlers.get(Action.Update) : undefined) ?? null;
  }

  /** Whether `handle` serves `action`. */
  handles(action) {
    return this.handler(action) !== null;
  }

  /** How `model` looks to `client`: the render function's answer, or the model unchanged. */
  renderFor(client, model) {
    if (this.#render === null) return model;
    const rendered = this.#render(client, model);
    return rendered === undefined ? null : rendered;
  }

  #allow(action) {
    if (!this.#routes.includes(action)) this.#routes.push(action);
  }
}

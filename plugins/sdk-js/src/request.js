// The `Request` a handler serves, and the `Client` it is served for.

import { Collection } from './collection.js';
import { ViewError } from './errors.js';
import { isObject } from './json.js';

/** The connection a call is made for. */
export class Client {
  /**
   * A client with connection `id`, `tenant` and handshake `claims`; claims
   * that are not an object count as none.
   */
  constructor(id, tenant = '', claims = {}) {
    /** The Socket.IO connection id, e.g. for `events.toClient`. */
    this.id = String(id);
    /** The connection's tenant; empty for the single-tenant default. */
    this.tenant = String(tenant);
    /** The verified claims of the handshake's `auth`, e.g. `{user: 'alice'}`. */
    this.claims = isObject(claims) ? claims : {};
    Object.freeze(this);
  }

  /** The claim `name` if it is a string, e.g. `claimStr('user')`; otherwise `null`. */
  claimStr(name) {
    const value = this.claims[name];
    return typeof value === 'string' ? value : null;
  }

  /** Reads the WIT `client` record, parsing its claims once. */
  static fromWit(record) {
    let claims = {};
    try {
      claims = JSON.parse(record.claims);
    } catch {
      // The host sends verified claims; anything unreadable counts as none.
    }
    return new Client(record.id, record.tenant, claims);
  }

  /** The WIT `client` record. */
  toWit() {
    return { id: this.id, tenant: this.tenant, claims: JSON.stringify(this.claims) };
  }
}

/** One client's call of one action, as a handler sees it. */
export class Request {
  /** A request of `action` on `view` by `client` with `data`. */
  constructor(view, action, client, data) {
    /** The view serving the request. */
    this.view = view;
    /** The action invoked, e.g. `update` or `archive`. */
    this.action = action;
    /** The connection the request came from. */
    this.client = client;
    /** The request's data as the client sent it: for `create`, `update` and `patch`, the model's attributes. */
    this.data = data;
  }

  /**
   * The `id` attribute of the data: a non-empty string, or an integer as
   * text. Throws `invalid` when it is missing or anything else.
   */
  id() {
    const id = isObject(this.data) ? this.data.id : undefined;
    if (typeof id === 'string' && id !== '') return id;
    if (id === undefined || id === null) throw ViewError.invalid('the request has no id');
    if (Number.isSafeInteger(id)) return String(id);
    throw ViewError.invalid('id must be a non-empty string or an integer');
  }

  /** The view's own collection. */
  collection() {
    return new Collection(this.view.collectionName);
  }

  /**
   * The view's defaults with the attributes of `data` (an object) over them:
   * what the host's native `create` would store. Throws `invalid` when
   * `data` is not an object.
   */
  withDefaults(data) {
    if (!isObject(data)) throw ViewError.invalid('the model must be a JSON object');
    return { ...this.view.defaultAttributes, ...data };
  }

  /**
   * `model` as the requesting client may see it, through the view's render
   * function. A model hidden from the client throws `not_found`, as if it did
   * not exist.
   */
  render(model) {
    const rendered = this.view.renderFor(this.client, model);
    if (rendered === null) throw ViewError.notFound('no such model');
    return rendered;
  }
}

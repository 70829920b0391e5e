// Read and write the tenant's collections. All writes of one request form one
// transaction: committed when the handler returns, discarded when it throws.

import { ViewError, fromImport } from './errors.js';
import { host } from './host.js';
import * as log from './log.js';

/** Calls a `collections` import, turning its WIT error into a `ViewError`. */
function call(fn, ...args) {
  try {
    return host().collections[fn](...args);
  } catch (thrown) {
    throw fromImport(thrown);
  }
}

/**
 * Models come from the host, so JSON that does not parse is the host's fault,
 * not the client's: `unavailable`.
 */
function parse(text) {
  try {
    return JSON.parse(text);
  } catch (err) {
    log.error(`the host returned malformed JSON: ${err.message}`);
    throw ViewError.unavailable('the store returned malformed data');
  }
}

/**
 * A handle on one collection of the tenant; see `collection()` and
 * `Request#collection()`. Models cross the boundary as JSON text: the handle
 * serializes what it sends and parses what it gets.
 */
export class Collection {
  #name;

  constructor(name) {
    this.#name = String(name);
  }

  /** The collection's name. */
  get name() {
    return this.#name;
  }

  /** The model `id`, or `null` if there is none. */
  get(id) {
    const text = call('get', this.#name, String(id));
    return text === undefined || text === null ? null : parse(text);
  }

  /**
   * Models in creation order whose attributes all equal those of `filter` (an
   * object), at most `limit` of them.
   */
  list(filter = null, limit = null) {
    const texts = call(
      'list',
      this.#name,
      filter === null || filter === undefined ? undefined : JSON.stringify(filter),
      limit === null || limit === undefined ? undefined : limit,
    );
    return texts.map(parse);
  }

  /**
   * Stores `model` (an object) as a new model and returns it with the `id` the
   * host assigned. Defaults are not applied here: see `Request#withDefaults`.
   */
  create(model) {
    return parse(call('create', this.#name, JSON.stringify(model)));
  }

  /**
   * Merges `attributes` (an object; its `id` is ignored) into the model `id`
   * and returns the result. With `only` (a list of names), other attributes
   * are left unchanged. Throws `not_found` when there is no such model.
   */
  update(id, attributes, only = null) {
    const names = only === null || only === undefined ? undefined : only.map(String);
    return parse(call('update', this.#name, String(id), JSON.stringify(attributes), names));
  }

  /** Deletes the model `id`; returns whether it existed. */
  remove(id) {
    return call('remove', this.#name, String(id));
  }
}

/** The tenant's collection `name` (there is no way to name another tenant's). */
export function collection(name) {
  return new Collection(name);
}

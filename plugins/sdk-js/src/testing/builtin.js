// The built-in routes a view does not handle itself. The host runs them
// natively, outside the view; this is a small copy of what it does (same
// answers and error codes for the same data), without the subscriptions and
// pushes that only exist on the wire.

import { collection } from '../collection.js';
import { ErrorCode, ViewError } from '../errors.js';
import { isObject, jsonEqual, kind } from '../json.js';
import { Action } from '../view.js';
import { inCall } from './state.js';

/** Longest id the host accepts from a client. */
const MAX_ID = 256;

/**
 * Serves `action` natively for `client` on the view `t` (see `target.js`),
 * in one transaction; `renderFor` is the per-client render as the host
 * applies it (null hides).
 */
export function run(t, action, client, data, renderFor) {
  const models = collection(t.collection);

  const visible = (id) => {
    const model = models.get(id);
    const seen = model === null ? null : renderFor(model);
    if (seen === null) throw notFound(id);
    return seen;
  };
  // The model as the client sees it; just its id when the view hides it.
  const renderOrId = (model) => renderFor(model) ?? { id: model.id ?? null };

  return inCall(t.name, true, () => {
    switch (action) {
      case Action.Create:
        return renderOrId(models.create({ ...t.defaults, ...object(data) }));
      case Action.Read:
        return visible(requiredId(data));
      case Action.Update:
      case Action.Patch: {
        const id = requiredId(data);
        if (t.renderPerClient) visible(id);
        const attributes = object(data);
        const before = models.get(id);
        if (before === null) throw notFound(id);
        const stored = models.update(id, attributes);
        // As halo: merging equal values changes nothing and answers only the id.
        return jsonEqual(before, stored) ? { id } : renderOrId(stored);
      }
      case Action.Delete: {
        const id = requiredId(data);
        // Already gone is success: the original client echoes the deletes it is pushed.
        try {
          visible(id);
          models.remove(id);
        } catch (err) {
          if (!(err instanceof ViewError && err.code === ErrorCode.NotFound)) throw err;
        }
        return { id };
      }
      case Action.List:
        return models.list().map(renderFor).filter((m) => m !== null);
      default:
        // The host refuses to load a view with a custom route but no handler.
        throw ViewError.forbidden(`custom route ${JSON.stringify(action)} has no handler: halo would refuse to load this view`);
    }
  });
}

function notFound(id) {
  return ViewError.notFound(`no model with id ${JSON.stringify(id)}`);
}

function object(data) {
  if (!isObject(data)) throw ViewError.invalid(`data must be a JSON object, not ${kind(data)}`);
  return data;
}

/** The `id` of `data`: a non-empty string, or an integer as its decimal text. */
function requiredId(data) {
  if (!isObject(data)) throw ViewError.invalid(`data must be a JSON object with an id, not ${kind(data)}`);
  const id = data.id;
  if (id === undefined || id === null) throw ViewError.invalid('data has no id');
  if (typeof id === 'string' && id !== '' && Buffer.byteLength(id) <= MAX_ID) return id;
  if (Number.isSafeInteger(id)) return String(id);
  throw ViewError.invalid(`id must be a non-empty string of at most ${MAX_ID} bytes, not ${kind(id)}`);
}

// The host's imports, faked in memory, with the shapes of the WIT bindings:
// same functions and arguments, JSON as text, and a failure thrown as an
// `Error` whose `payload` is the WIT `error` record. They check what the host
// checks (collection and event names, JSON, the per-call caps, no writes in
// `render` or `connect`) with the same error codes.

import { isObject } from '../json.js';
import { current, drop, find, newId, push, state } from './state.js';

/** Most writes one call may make, as in the host. */
export const MAX_WRITES = 1000;
/** Most custom events one call may emit, as in the host. */
export const MAX_EMITS = 100;
/** Most JSON one call may write, as in the host. */
export const MAX_WRITE_BYTES = 16 << 20;

function fail(code, message) {
  const err = new Error(message);
  err.payload = { code, message };
  return err;
}

function checkCollection(name) {
  if (name.length === 0 || Buffer.byteLength(name) > 128) {
    throw fail('invalid', 'collection names are 1 to 128 characters');
  }
}

function object(text, what) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!isObject(value)) throw fail('invalid', `${what} is not a JSON object`);
  return value;
}

/** The call in progress after checking it may write `bytes` more; `null` outside one. */
function writing(bytes) {
  const call = current();
  if (call === null) return null;
  if (call.before === null) throw fail('forbidden', 'writes are only allowed in handle');
  call.bytes += bytes;
  if (call.bytes > MAX_WRITE_BYTES) {
    throw fail('invalid', `a call may write at most ${MAX_WRITE_BYTES} bytes of JSON`);
  }
  return call;
}

function countWrite(bytes) {
  const call = writing(bytes);
  if (call === null) return;
  if (call.writes >= MAX_WRITES) throw fail('invalid', `a transaction may write at most ${MAX_WRITES} times`);
  call.writes += 1;
}

function countEmit(bytes) {
  const call = writing(bytes);
  if (call === null) return;
  call.emitted += 1;
  if (call.emitted > MAX_EMITS) throw fail('invalid', `a call may emit at most ${MAX_EMITS} events`);
}

/** Whether `model` has every attribute of `filter`, equal. */
function matches(model, filter, equal) {
  return Object.entries(filter).every(([key, value]) => Object.hasOwn(model, key) && equal(model[key], value));
}

/** The `collections` import. */
export function collections(equal) {
  return {
    get(collection, id) {
      checkCollection(collection);
      const model = find(collection, id);
      return model === null ? undefined : JSON.stringify(model);
    },

    list(collection, filter, limit) {
      checkCollection(collection);
      const wanted = filter === undefined || filter === null ? null : object(filter, 'filter');
      const cap = limit === undefined || limit === null ? Infinity : limit;
      const found = [];
      for (const model of state.collections.get(collection) ?? []) {
        if (found.length >= cap) break;
        if (wanted === null || matches(model, wanted, equal)) found.push(JSON.stringify(model));
      }
      return found;
    },

    create(collection, model) {
      checkCollection(collection);
      const stored = object(model, 'model');
      countWrite(Buffer.byteLength(model));
      stored.id = newId();
      push(collection, stored);
      return JSON.stringify(stored);
    },

    update(collection, id, attributes, only) {
      checkCollection(collection);
      const changes = object(attributes, 'attributes');
      countWrite(Buffer.byteLength(attributes));
      const model = find(collection, id);
      if (model === null) throw fail('not-found', `no model ${JSON.stringify(id)} in ${JSON.stringify(collection)}`);
      for (const [key, value] of Object.entries(changes)) {
        if (key === 'id' || (only && !only.includes(key))) continue;
        model[key] = value;
      }
      return JSON.stringify(model);
    },

    remove(collection, id) {
      checkCollection(collection);
      countWrite(Buffer.byteLength(id));
      return drop(collection, id);
    },
  };
}

function checkEvent(event) {
  if (event.length === 0 || Buffer.byteLength(event) > 64 || event.includes(':') || event.includes('/')) {
    throw fail('invalid', "event names are 1 to 64 characters without ':' or '/'");
  }
}

/**
 * Queues `<view>:<event>` for the call's commit; outside a call it is sent at
 * once, named just `event`.
 */
function emit(to, event, data) {
  checkEvent(event);
  let parsed;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw fail('invalid', 'event data is not JSON');
  }
  countEmit(Buffer.byteLength(data));
  const call = current();
  const sent = { ...to, name: call ? `${call.view}:${event}` : event, data: parsed };
  (call ? call.events : state.events).push(sent);
}

/** The `events` import. */
export const events = {
  toClient(connection, event, data) {
    emit({ to: 'client', connection }, event, data);
  },
  toSubscribers(event, data) {
    emit({ to: 'subscribers' }, event, data);
  },
};

/** The `log` import: lines are kept whether or not the call commits. */
export const log = {
  write(level, message) {
    state.logs.push({ level, message });
    if (process.env.HALO_TEST_LOG) process.stderr.write(`[halo log ${level}] ${message}\n`);
  },
};

// The in-memory host's state: collections, sent events and log lines, and the
// calls in progress with what each must undo. One per process: `node --test`
// runs each test file in its own process, and `reset()` empties it between
// tests of one file.

/** Everything the fake host holds. */
export const state = {
  /** @type {Map<string, object[]>} models per collection, each in creation order */
  collections: new Map(),
  /** How many ids were handed out, so the next one is new. */
  ids: 0n,
  /** Events sent: those of committed calls, and those emitted outside one. */
  events: [],
  logs: [],
  /** Calls in progress, innermost last. */
  calls: [],
};

/** Empties the state, and restarts ids. */
export function clear() {
  state.collections = new Map();
  state.ids = 0n;
  state.events = [];
  state.logs = [];
  state.calls = [];
}

/** The `id` attribute of a stored model. */
export function idOf(model) {
  return typeof model.id === 'string' ? model.id : null;
}

/** The model `id` of `collection`, stored (not a copy). */
export function find(collection, id) {
  return state.collections.get(collection)?.find((m) => idOf(m) === id) ?? null;
}

/** Appends `model`, which carries its id, to `collection`. */
export function push(collection, model) {
  if (!state.collections.has(collection)) state.collections.set(collection, []);
  state.collections.get(collection).push(model);
}

/** Deletes the model `id` of `collection`; returns whether it existed. */
export function drop(collection, id) {
  const models = state.collections.get(collection);
  const at = models ? models.findIndex((m) => idOf(m) === id) : -1;
  if (at < 0) return false;
  models.splice(at, 1);
  return true;
}

/**
 * A fresh id shaped like the host's: a UUIDv7 as 32 lowercase hex digits,
 * later ids sorting after earlier ones. Its clock is a counter that `reset`
 * restarts, so test runs are repeatable.
 */
export function newId() {
  state.ids += 1n;
  const ids = state.ids;
  return (ids >> 62n).toString(16).padStart(12, '0') + '7000' + ((1n << 63n) | ids).toString(16).padStart(16, '0');
}

/** The call in progress, or `null` outside one (a test's own setup). */
export function current() {
  return state.calls.at(-1) ?? null;
}

/**
 * Starts a call of view `view`. Only a writable call (as `handle`) may write
 * or send events; it keeps a copy of the collections to put back unless it
 * commits.
 */
export function begin(view, writable) {
  state.calls.push({
    view,
    before: writable ? structuredClone(state.collections) : null,
    events: [],
    writes: 0,
    bytes: 0,
    emitted: 0,
  });
}

/** Keeps the call's writes and sends its events (to the enclosing call, if any). */
export function commit() {
  const call = state.calls.pop();
  const outer = current();
  (outer ? outer.events : state.events).push(...call.events);
}

/** Undoes the call's writes and drops its events. */
export function rollback() {
  const call = state.calls.pop();
  if (call?.before) state.collections = call.before;
}

/**
 * Runs `fn` as one call of `view`: committed when it returns, rolled back
 * when it throws.
 */
export function inCall(view, writable, fn) {
  begin(view, writable);
  let result;
  try {
    result = fn();
  } catch (thrown) {
    rollback();
    throw thrown;
  }
  if (writable) commit();
  else rollback();
  return result;
}

// JSON helpers the SDK needs in several places: what kind a value is (for
// error messages) and equality of JSON values (for filters and no-op updates).

/** Whether `value` is a JSON object: not null, not an array. */
export function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How an error message names the kind of `value`, as the host does. */
export function kind(value) {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'boolean': return 'a boolean';
    case 'number': return 'a number';
    case 'string': return 'a string';
    default: return 'an object';
  }
}

/** Whether two JSON values are equal; key order does not matter. */
export function jsonEqual(a, b) {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length
      && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** A deep copy of a JSON value, so a caller's changes never reach the original. */
export function copy(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

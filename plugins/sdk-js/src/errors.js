// The error a view throws: a code the client acts on and a message it shows.
// Throwing one from a handler also discards every write the handler made.

/** The codes a client receives, as the Rust SDK's `ErrorCode::as_str`. */
export const ErrorCode = Object.freeze({
  /** The client may not do this. */
  Forbidden: 'forbidden',
  /** The model does not exist, or is hidden from this client. */
  NotFound: 'not_found',
  /** The data is malformed or breaks a rule of the view. */
  Invalid: 'invalid',
  /** The view cannot serve the request right now. */
  Unavailable: 'unavailable',
});

const CODES = new Set(Object.values(ErrorCode));

/**
 * What went wrong, as the client sees it: the host sends it as the ack's first
 * argument, `{"code": "<code>", "message": "<message>"}`.
 */
export class ViewError extends Error {
  /**
   * @param {string} code one of `ErrorCode`'s values
   * @param {string} message the human-readable explanation the client receives
   */
  constructor(code, message) {
    if (!CODES.has(code)) {
      throw new TypeError(`halo-sdk: ${JSON.stringify(code)} is not an error code (${[...CODES].join(', ')})`);
    }
    super(String(message));
    this.name = 'ViewError';
    this.code = code;
  }

  /** The client may not do this. */
  static forbidden(message) {
    return new ViewError(ErrorCode.Forbidden, message);
  }

  /** The model does not exist, or is hidden from this client. */
  static notFound(message) {
    return new ViewError(ErrorCode.NotFound, message);
  }

  /** The data is malformed or breaks a rule of the view. */
  static invalid(message) {
    return new ViewError(ErrorCode.Invalid, message);
  }

  /** The view cannot serve the request right now. */
  static unavailable(message) {
    return new ViewError(ErrorCode.Unavailable, message);
  }

  /** `{code, message}`, as the client's ack carries it. */
  toJSON() {
    return { code: this.code, message: this.message };
  }
}

// WIT spells enum cases with dashes (`not-found`); clients see underscores.

/** The WIT `error` record for `err`, as the bindings lower it. */
export function toWit(err) {
  return { code: err.code.replace('_', '-'), message: err.message };
}

/** The SDK error for a WIT `error` record. */
export function fromWit(record) {
  const code = String(record?.code ?? '').replace('-', '_');
  return new ViewError(CODES.has(code) ? code : ErrorCode.Unavailable, record?.message ?? '');
}

/**
 * What an import threw, as a `ViewError` when it is a WIT `error` (the
 * bindings throw an `Error` whose `payload` is the record); anything else is
 * passed through, since it is no answer of the host's.
 */
export function fromImport(thrown) {
  if (thrown && typeof thrown === 'object' && thrown.payload && typeof thrown.payload === 'object') {
    return fromWit(thrown.payload);
  }
  return thrown;
}

/**
 * What an export throws to return `err` as a WIT `error`: both JS backends
 * lift the `payload` of a thrown object as the error value, and trap on an
 * `Error` without one.
 */
export function toExport(err) {
  const thrown = new Error(err.message);
  thrown.payload = toWit(err);
  return thrown;
}

// Write to the host's log, where every line is tagged with the tenant and the
// view. In a component `console.log` reaches it too (at `info`).

import { host } from './host.js';

/** Severities, lowest first. */
export const Level = Object.freeze({
  Trace: 'trace',
  Debug: 'debug',
  Info: 'info',
  Warn: 'warn',
  Error: 'error',
});

const LEVELS = new Set(Object.values(Level));

/** Writes one line at `level` (one of `Level`'s values). */
export function write(level, message) {
  if (!LEVELS.has(level)) throw new TypeError(`halo-sdk: unknown log level ${JSON.stringify(level)}`);
  host().log.write(level, String(message));
}

/** Writes one line at `trace`. */
export const trace = (message) => write(Level.Trace, message);
/** Writes one line at `debug`. */
export const debug = (message) => write(Level.Debug, message);
/** Writes one line at `info`. */
export const info = (message) => write(Level.Info, message);
/** Writes one line at `warn`. */
export const warn = (message) => write(Level.Warn, message);
/** Writes one line at `error`. */
export const error = (message) => write(Level.Error, message);

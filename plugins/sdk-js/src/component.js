// What the generated entry of a component imports: it binds the real WIT
// imports and gives `console` a home. QuickJS has no `console` of its own, and
// a `console.log` left in a view should reach the host's log rather than trap.

import { bindHost, host } from './host.js';

export { bindHost } from './host.js';
export { guest, resolveView } from './guest.js';

function text(args) {
  return args.map((a) => (typeof a === 'string' ? a : safeJson(a))).join(' ');
}

function safeJson(value) {
  if (value instanceof Error) return value.stack ? `${value}\n${value.stack}` : String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const line = (level) => (...args) => host().log.write(level, text(args));

/** Points `console` at the host's log. */
export function installConsole() {
  globalThis.console = {
    log: line('info'),
    info: line('info'),
    debug: line('debug'),
    trace: line('trace'),
    warn: line('warn'),
    error: line('error'),
  };
}

installConsole();

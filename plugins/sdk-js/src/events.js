// Push custom events to clients; they are sent after the request commits and
// dropped if it fails.

import { fromImport } from './errors.js';
import { host } from './host.js';

function send(fn, ...args) {
  try {
    host().events[fn](...args);
  } catch (thrown) {
    throw fromImport(thrown);
  }
}

/**
 * Sends `<view>:<event>` with `data` to one connection of the tenant, e.g.
 * `req.client.id`. A connection that is gone is ignored.
 */
export function toClient(connection, event, data) {
  send('toClient', String(connection), String(event), JSON.stringify(data ?? null));
}

/**
 * Sends `<view>:<event>` with `data` to every connection subscribed to this
 * view (after a `list`), except the requester.
 */
export function toSubscribers(event, data) {
  send('toSubscribers', String(event), JSON.stringify(data ?? null));
}

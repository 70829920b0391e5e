// halo-sdk: write halo views in JavaScript. A view module `export default`s a
// `View`; `halo-view-build` turns it into a WebAssembly component, and
// `halo-sdk/testing` runs it against an in-memory host under `node --test`.

export { View, Action, actionName } from './view.js';
export { Request, Client } from './request.js';
export { Collection, collection } from './collection.js';
export { ViewError, ErrorCode } from './errors.js';
export * as events from './events.js';
export * as log from './log.js';

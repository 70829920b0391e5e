// halo.sync.js: keeps Backbone models and collections in sync with a halo
// server over Socket.IO. Load it after Backbone and set `Backbone.socket` to a
// socket.io-client 4 socket:
//
//   <script src="/socket.io/socket.io.js"></script>
//   <script src="/halo/halo.sync.js"></script>
//   <script>Backbone.socket = io();</script>
//
// Every request is the event `<View>:<action>` with an ack `(err, result)`,
// where `<View>` is the first segment of the model's or collection's `url`.
// After a `read`, `create` or `list` is answered, the object listens for the
// server's pushes (`<View>/<id>:serverchange`, `<View>/<id>:serverdestroy`,
// `<View>:serveradd`, `<View>:serverremove`). Subscriptions belong to one
// connection, so after a reconnect every bound model and collection fetches
// itself again, which also subscribes it again.
//
// Writes (create, update, patch, delete) are never lost to a dropped
// connection: made while offline, they wait; sent but not acked when the
// connection dropped, they are sent again. Either way they go out in the
// order they were made, once the connection is back, before the refetches.
// Each carries an operation id (`$op`), so the server applies a write it
// already applied only once and answers it again.
//
// MIT licensed, part of halo. Written for Backbone 1.6 and socket.io-client 4.

(function (root, factory) {
  if (typeof module === 'object' && module && module.exports) {
    module.exports = factory(require('backbone'), require('underscore'));
  } else {
    factory(root.Backbone, root._);
  }
})(typeof globalThis !== 'undefined' ? globalThis : this, function (Backbone, _) {
  'use strict';

  if (!Backbone || !_) {
    throw new Error('halo.sync.js needs Backbone and underscore loaded first');
  }

  const Model = Backbone.Model;
  const Collection = Backbone.Collection;

  // Settings a page may change: `Backbone.halo.timeout = 10000`.
  const halo = (Backbone.halo = {
    // Milliseconds to wait for an ack before the request fails with
    // `{code: "timeout"}`; 0 waits forever. Without a bound, a request sent
    // just before the connection drops would never settle. A request may
    // override it with `options.timeout`, as with jQuery's ajax.
    timeout: 30000,
    // Milliseconds before reconnecting after the server closed the
    // connection on purpose.
    reconnectDelay: 1000,
  });

  // Where the socket is looked up, most specific first. `window.socket` is
  // what the original halo.sync.js also accepted.
  function socketOf(obj) {
    const socket =
      obj.socket ||
      (obj.collection && obj.collection.socket) ||
      Backbone.socket ||
      (typeof window !== 'undefined' && window.socket);
    if (!socket) {
      throw new Error('halo.sync.js: set Backbone.socket to a socket.io socket');
    }
    return socket;
  }

  // The view name: the first non-empty path segment of the url, so "MyModels",
  // "/MyModels" and "/MyModels/12" all name the view "MyModels".
  function viewOf(obj) {
    const url = _.result(obj, 'url');
    if (typeof url !== 'string') {
      throw new Error('halo.sync.js: a url is needed to name the view');
    }
    const path = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '').split(/[?#]/)[0];
    const view = path.split('/').find((segment) => segment !== '');
    if (!view) {
      throw new Error('halo.sync.js: url ' + JSON.stringify(url) + ' names no view');
    }
    return view;
  }

  // The socket event behind a local event name: per model for models, per
  // view for collections.
  function globalName(obj, name) {
    return obj instanceof Model
      ? viewOf(obj) + '/' + obj.id + ':' + name
      : viewOf(obj) + ':' + name;
  }

  // --- bound objects, per socket, for re-subscribing after a reconnect ---

  const registries = new WeakMap();

  function registryOf(socket) {
    let registry = registries.get(socket);
    if (!registry) {
      registry = { models: new Set(), collections: new Set(), outbox: [] };
      registries.set(socket, registry);
      socket.on('disconnect', (reason) => {
        // Their acks will not come: send them again once reconnected.
        for (const entry of registry.outbox) {
          clearTimeout(entry.timer);
          entry.sent = false;
        }
        // socket.io-client does not come back by itself from a disconnect
        // the server made (a tenant reloading, a client too far behind):
        // come back, so waiting writes are not stuck for good.
        if (reason === 'io server disconnect') {
          setTimeout(() => socket.connect(), halo.reconnectDelay);
        }
      });
      socket.on('connect', () => {
        // Writes first: the refetches that follow then see them applied.
        for (const entry of registry.outbox.slice()) {
          if (!entry.sent) transmit(socket, registry, entry);
        }
        // A recovered session kept its subscriptions and got what it missed.
        if (!socket.recovered) resubscribe(socket, registry);
      });
    }
    return registry;
  }

  function register(obj, socket) {
    const registry = registryOf(socket);
    (obj instanceof Model ? registry.models : registry.collections).add(obj);
  }

  function unregister(obj, socket) {
    const registry = registries.get(socket);
    if (registry) {
      (obj instanceof Model ? registry.models : registry.collections).delete(obj);
    }
  }

  // Whether the pushes for `model` also reach it through a bound collection.
  function coveredByCollection(model, registry) {
    const coll = model.collection;
    return Boolean(
      coll &&
        registry.collections.has(coll) &&
        coll.get(model) === model &&
        viewOf(coll) === viewOf(model)
    );
  }

  function resubscribe(socket, registry) {
    for (const coll of Array.from(registry.collections)) {
      request(socket, viewOf(coll) + ':list', coll.toJSON(), {}, (err, result) => {
        if (err || !registry.collections.has(coll)) return;
        coll.set(result, { parse: true, server: true });
        coll.ioServerBind();
      });
    }
    for (const model of Array.from(registry.models)) {
      if (coveredByCollection(model, registry)) {
        // The list above subscribes the whole view on this connection.
        model._haloOwn = false;
        continue;
      }
      request(socket, viewOf(model) + ':read', model.toJSON(), {}, (err, result) => {
        if (!registry.models.has(model)) return;
        if (!err) {
          model._haloOwn = true;
          model.ioServerChange(model.parse(result, {}));
        } else if (err.code === 'not_found') {
          model.ioServerDestroy({ id: model.id });
        }
      });
    }
  }

  // --- requests ---

  // Emits `event` and calls `done(err, result)` exactly once: with the ack, or
  // with `{code: "timeout"}` / `{code: "disconnected"}` when none can come.
  function request(socket, event, data, options, done) {
    const ms = options.timeout !== undefined ? options.timeout : halo.timeout;
    if (!ms || typeof socket.timeout !== 'function') {
      socket.emit(event, data, (err, result) => done(err, result));
      return;
    }
    socket.timeout(ms).emit(event, data, (failure, err, result) => {
      if (!failure) {
        done(err, result);
      } else if (/disconnect/i.test(String(failure && failure.message))) {
        done({ code: 'disconnected', message: 'connection lost before ' + event + ' was answered' });
      } else {
        done({ code: 'timeout', message: 'no answer to ' + event + ' within ' + ms + ' ms' });
      }
    });
  }

  // --- writes: ordered, kept across disconnects, applied once ---

  // Operation ids: unique per page (a random session) and per write.
  const session = Math.random().toString(36).slice(2, 10) + Date.now().toString(36);
  let operations = 0;

  function nextOp() {
    operations += 1;
    return session + ':' + operations;
  }

  // Queues a write; it is sent now if connected and nothing older waits,
  // else when the connection is back. `done(err, result)` runs once, with
  // the ack, or with a timeout only when the caller set `options.timeout`: a
  // connection that silently died is noticed by socket.io's heartbeat, and
  // the write is then sent again rather than given up.
  function write(socket, event, data, options, done) {
    const registry = registryOf(socket);
    const entry = { event, data, options, done, sent: false, settled: false, timer: null };
    const older = registry.outbox.some((waiting) => !waiting.sent);
    registry.outbox.push(entry);
    if (socket.connected && !older) transmit(socket, registry, entry);
  }

  function transmit(socket, registry, entry) {
    entry.sent = true;
    const ms = entry.options.timeout;
    if (ms) {
      entry.timer = setTimeout(() => {
        settle(registry, entry, {
          code: 'timeout',
          message: 'no answer to ' + entry.event + ' within ' + ms + ' ms',
        });
      }, ms);
    }
    socket.emit(entry.event, entry.data, (err, result) => settle(registry, entry, err, result));
  }

  function settle(registry, entry, err, result) {
    if (entry.settled) return;
    entry.settled = true;
    clearTimeout(entry.timer);
    const at = registry.outbox.indexOf(entry);
    if (at >= 0) registry.outbox.splice(at, 1);
    entry.done(err, result);
  }

  // What Backbone's callers get back instead of a jqXHR: a thenable that
  // settles with the ack. It only creates a promise when someone asks, so an
  // error nobody awaits is not reported as an unhandled rejection.
  function pending() {
    let state = 'pending';
    let value;
    const waiters = [];
    const then = (onResult, onError) =>
      new Promise((resolve, reject) => {
        const settle = () => (state === 'done' ? resolve(value) : reject(value));
        if (state === 'pending') waiters.push(settle);
        else settle();
      }).then(onResult, onError);
    return {
      handle: {
        then,
        catch: (onError) => then(undefined, onError),
        finally: (onFinally) => then().finally(onFinally),
      },
      settle(failed, result) {
        state = failed ? 'failed' : 'done';
        value = result;
        waiters.splice(0).forEach((settle) => settle());
      },
    };
  }

  function payload(action, obj, options) {
    if (obj instanceof Collection) {
      return action === 'disconnect' ? {} : obj.toJSON(options);
    }
    if (action === 'disconnect') return { id: obj.id };
    // The original sent the whole model for patch too; sending only the
    // changed attributes keeps a patch from overwriting what others saved.
    if (action === 'patch' && options.attrs) {
      return Object.assign({}, options.attrs, { id: obj.id });
    }
    return obj.toJSON(options);
  }

  Backbone.sync = function (method, obj, options) {
    options = options || {};
    const isCollection = obj instanceof Collection;
    const action = isCollection && method === 'read' ? 'list' : method;
    const socket = socketOf(obj);
    const event = viewOf(obj) + ':' + action;
    const result = pending();
    const isWrite = action === 'create' || action === 'update' || action === 'patch' || action === 'delete';
    const body = payload(action, obj, options);
    if (isWrite && body && typeof body === 'object' && !Array.isArray(body)) body.$op = nextOp();
    const send = isWrite ? write : request;

    send(socket, event, body, options, (err, data) => {
      if (err) {
        if (options.error) options.error(err);
        result.settle(true, err);
        return;
      }
      if (action === 'delete') obj.ioUnbindAll();
      if (options.success) options.success(data);
      if (action === 'read' || action === 'create') {
        obj._haloOwn = true;
        obj.ioServerBind();
      } else if (action === 'list') {
        obj.ioServerBind();
      }
      result.settle(false, data);
    });

    if (action === 'disconnect') unsubscribeLocally(obj, socket);
    obj.trigger('request', obj, result.handle, options);
    return result.handle;
  };

  // --- binding socket events to Backbone events ---

  // Records of what ioBind did, so that ioUnbind undoes exactly that and
  // leaves other listeners (another copy of the same model) alone.
  function bindings(obj) {
    return obj._ioEvents || (obj._ioEvents = {});
  }

  function bind(obj, name, io, callback, context, internal) {
    io = io || socketOf(obj);
    const entry = {
      name,
      global: globalName(obj, name),
      io,
      callback,
      context: context || obj,
      internal: Boolean(internal),
      relay: (data) => obj.trigger(name, data),
    };
    if (callback) obj.on(name, callback, entry.context);
    io.on(entry.global, entry.relay);
    (bindings(obj)[name] || (bindings(obj)[name] = [])).push(entry);
    return obj;
  }

  function unbind(obj, name, keep) {
    const events = bindings(obj);
    const entries = events[name] || [];
    const kept = [];
    let removedInternal = false;
    for (const entry of entries) {
      if (keep(entry)) {
        kept.push(entry);
        continue;
      }
      if (entry.callback) obj.off(name, entry.callback, entry.context);
      entry.io.off(entry.global, entry.relay);
      removedInternal = removedInternal || entry.internal;
    }
    if (kept.length) events[name] = kept;
    else delete events[name];
    return removedInternal;
  }

  // `(name, [io], callback, [context])`, as in the original.
  function bindArgs(io, callback, context) {
    return typeof io === 'function' ? [undefined, io, callback] : [io, callback, context];
  }

  function ioBind(eventName, io, callback, context) {
    const args = bindArgs(io, callback, context);
    // A model without an id has no events on the server yet.
    if (this instanceof Model && this.isNew()) return this;
    return bind(this, eventName, args[0], args[1], args[2], false);
  }

  function ioUnbind(eventName, io, callback) {
    if (typeof io === 'function') {
      callback = io;
      io = undefined;
    }
    const removedInternal = unbind(
      this,
      eventName,
      (entry) => (io && entry.io !== io) || (callback && entry.callback !== callback)
    );
    if (removedInternal) stopServerSync(this);
    return this;
  }

  function ioUnbindAll(io) {
    let removedInternal = false;
    for (const name of Object.keys(bindings(this))) {
      removedInternal = unbind(this, name, (entry) => io && entry.io !== io) || removedInternal;
    }
    if (removedInternal || !io) stopServerSync(this);
    return this;
  }

  // Stops following the server: drops the push listeners this file added and
  // the registry entry. A collection also lets go of the models that only it
  // kept bound.
  function stopServerSync(obj, socket) {
    socket = socket || obj._haloSocket;
    for (const name of Object.keys(bindings(obj))) unbind(obj, name, (entry) => !entry.internal);
    obj._haloOwn = false;
    obj._haloBound = false;
    if (socket) unregister(obj, socket);
    if (obj instanceof Collection) {
      obj.off(null, null, collectionWatch);
      obj.models.forEach(release);
    }
  }

  // Unbinds a model that is neither subscribed on its own (by its own read
  // or create) nor a member of a bound collection any more.
  function release(model) {
    if (model._haloOwn || !model._haloBound) return;
    const registry = registries.get(model._haloSocket);
    if (registry) {
      for (const coll of registry.collections) {
        if (coll.get(model) === model) return;
      }
    }
    stopServerSync(model);
  }

  // The local half of `<View>:disconnect`. A model that still gets pushes
  // through its bound collection keeps listening.
  function unsubscribeLocally(obj, socket) {
    const registry = registries.get(socket);
    if (obj instanceof Model && registry && coveredByCollection(obj, registry)) {
      obj._haloOwn = false;
    } else {
      stopServerSync(obj, socket);
    }
  }

  // Context object tagging the collection listeners this file adds.
  const collectionWatch = {};

  // --- models ---

  Model.prototype.ioBind = ioBind;
  Model.prototype.ioUnbind = ioUnbind;
  Model.prototype.ioUnbindAll = ioUnbindAll;

  Model.prototype.ioServerBind = function () {
    if (this._haloBound || this.isNew()) return this;
    const socket = socketOf(this);
    bind(this, 'serverchange', socket, this.ioServerChange, this, true);
    bind(this, 'serverdestroy', socket, this.ioServerDestroy, this, true);
    this._haloBound = true;
    this._haloSocket = socket;
    register(this, socket);
    return this;
  };

  // Applies attributes changed by another client. They come from the server,
  // so they are not left in `changed` as local edits; listeners can tell them
  // apart by `options.server`.
  Model.prototype.ioServerChange = function (changes) {
    const changed = _.clone(this.changed);
    this.set(changes, { server: true });
    this.changed = changed;
  };

  // The model was deleted by another client: drop it here the way Backbone's
  // destroy does (collections remove it on the `destroy` event), without
  // sending a delete of our own.
  Model.prototype.ioServerDestroy = function () {
    this.ioUnbindAll();
    this.stopListening();
    this.trigger('destroy', this, this.collection, { server: true });
  };

  // Stops the server's pushes for this model on this connection.
  Model.prototype.disconnect = function (options) {
    return Backbone.sync('disconnect', this, options);
  };

  // --- collections ---

  Collection.prototype.ioBind = ioBind;
  Collection.prototype.ioUnbind = ioUnbind;
  Collection.prototype.ioUnbindAll = ioUnbindAll;

  Collection.prototype.ioServerBind = function () {
    for (const model of this.models) model.ioServerBind();
    if (this._haloBound) return this;
    const socket = socketOf(this);
    bind(this, 'serveradd', socket, this.ioServerAdd, this, true);
    bind(this, 'serverremove', socket, this.ioServerRemove, this, true);
    // A model that leaves the collection and was bound only through it stops
    // listening, so dropped models do not pile up on the socket.
    this.on('update', (coll, options) => options.changes.removed.forEach(release), collectionWatch);
    this.on('reset', (coll, options) => (options.previousModels || []).forEach(release), collectionWatch);
    this._haloBound = true;
    this._haloSocket = socket;
    register(this, socket);
    return this;
  };

  // Models another client created: add them, or merge into a copy we have.
  Collection.prototype.ioServerAdd = function (models) {
    for (const attrs of [].concat(models || [])) {
      const model = this.add(attrs, { merge: true, parse: true, server: true });
      if (model) model.ioServerBind();
    }
  };

  // Models that left the view: `[{id}, ...]`.
  Collection.prototype.ioServerRemove = function (models) {
    for (const item of [].concat(models || [])) {
      const model = item != null && this.get(item);
      if (model) this.remove(model, { server: true });
    }
  };

  // Stops the server's pushes for the whole view on this connection.
  Collection.prototype.disconnect = function (options) {
    return Backbone.sync('disconnect', this, options);
  };

  return Backbone;
});

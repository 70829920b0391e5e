"""Unit-test a view with pytest against an in-memory host.

Importing this module binds it: the SDK's collection, events and log calls
then reach a fake host kept in memory, and these functions seed and inspect
it and call a view the way halo would:

* ``call(view, action, client, data)``: one client's ``<View>:<action>``
  request, answered with what that client's ack would carry (or raising the
  ``ViewError`` it would carry). The route must be allowed; the view's
  handler runs if it has one (``patch`` falls back to ``update``'s),
  otherwise the built-in runs as the host runs it natively. All writes of
  the call are one transaction, kept only when it succeeds; so are its
  events.
* ``render`` and ``connect``: the per-client render and connection check.
  Like in the host, they may read but not write.
* ``insert``, ``seed``, ``models``, ``model``: set up and inspect
  collections directly, bypassing any view.
* ``events``, ``take_events``, ``logs``: what was sent and logged.
* ``reset``: start over (an autouse fixture calling it keeps tests apart).

It follows the host's documented semantics: ids assigned on create, shaped
like the host's (32 hex digits of a UUIDv7; here from a counter, so they
repeat from run to run); ``list`` in creation order, filtered by equality
and limited; ``update`` merges and never changes ``id``; ``remove`` tells
whether the model existed; the per-call caps and name checks. What it does
not model is the wire: subscriptions, pushes, other connections, tenants.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Optional

from .. import _host, guest
from .._json import copy, dumps, loads
from ..errors import ViewError
from ..request import Client
from ..view import PATCH, UPDATE, View, action_name
from . import _builtin, _state
from ._imports import MemoryHost

__all__ = [
    "Client",
    "call",
    "connect",
    "events",
    "insert",
    "logs",
    "model",
    "models",
    "render",
    "reset",
    "seed",
    "spec",
    "take_events",
]

_host.bind(MemoryHost())


def _view(view: Any) -> View:
    return guest.resolve_view(view)


def _wire(value: Any) -> Any:
    """A JSON round trip: what crosses the component boundary as text."""
    return loads(dumps(value))


def reset() -> None:
    """Empties the fake host: collections, events, log lines, and the id counter."""
    _state.clear()


def _render_for(view: View, client: Client):
    def render_for(model: Any) -> Optional[Any]:
        if not view.renders_per_client:
            return model
        text = _state.in_call(view.name, False, lambda: guest.render(view, client, dumps(model)))
        return None if text is None else loads(text)

    return render_for


def call(view: Any, action: str, client: Client, data: Any = None) -> Any:
    """Calls ``view`` as halo does when ``client`` emits ``<View>:<action>``
    with ``data``, and returns what the ack would carry; a refusal raises the
    ``ViewError`` the client would receive. ``disconnect`` answers ``True``."""
    v = _view(view)
    name = action_name(action)
    if name == "disconnect":
        return True
    if name not in v.allowed_routes:
        raise ViewError.forbidden(f"view {v.name} does not allow {name}")
    names = v.handler_names
    handler = name if name in names else UPDATE if name == PATCH and UPDATE in names else None
    if handler is None:
        return _builtin.run(v, name, client, _wire(data), _render_for(v, client))

    def run() -> Any:
        text = guest.handle(v, handler, client, dumps(data))
        try:
            return loads(text)
        except ValueError:
            raise ViewError.unavailable("handle returned text that is not JSON") from None

    return _state.in_call(v.name, True, run)


def render(view: Any, client: Client, model: Any) -> Optional[Any]:
    """How ``model`` looks to ``client`` through ``view``: ``None`` when the
    view hides it, the model unchanged when it does not render per client."""
    return _render_for(_view(view), client)(_wire(model))


def connect(view: Any, client: Client) -> None:
    """Whether ``view`` admits the new connection ``client``: returns, or
    raises the refusal."""
    v = _view(view)
    _state.in_call(v.name, False, lambda: guest.connect(v, client))


def spec(view: Any) -> dict:
    """The spec the host reads from ``view`` when it loads it, ``defaults``
    parsed."""
    described = guest.spec(_view(view))
    return {**described, "defaults": loads(described["defaults"])}


def insert(collection: str, model: dict) -> dict:
    """Stores ``model`` in ``collection`` directly, as test data, and returns
    a copy as stored. It keeps an ``id`` that is a non-empty string
    (replacing a model with that id); otherwise it gets a fresh id. Raises
    ``TypeError`` unless ``model`` is a dict."""
    if not isinstance(model, dict):
        raise TypeError(f"testing.insert({collection!r}, ...): a model must be a JSON object, not {model!r}")
    stored = copy(model)
    if not (isinstance(stored.get("id"), str) and stored["id"]):
        stored["id"] = _state.new_id()
    existing = _state.find(collection, stored["id"])
    if existing is None:
        _state.push(collection, stored)
    else:
        existing.clear()
        existing.update(stored)
    return copy(stored)


def seed(collection: str, models: Iterable[dict]) -> List[dict]:
    """Stores each of ``models`` with ``insert``; returns them as stored."""
    return [insert(collection, m) for m in models]


def models(collection: str) -> List[dict]:
    """Copies of the models of ``collection``, in creation order."""
    return copy(_state.state.collections.get(collection, []))


def model(collection: str, id: str) -> Optional[dict]:
    """A copy of the model ``id`` of ``collection``, or ``None``."""
    found = _state.find(collection, id)
    return None if found is None else copy(found)


def events() -> List[dict]:
    """The events sent so far, oldest first: ``{"to": "client", "connection",
    "name", "data"}`` or ``{"to": "subscribers", "name", "data"}``, from calls
    that succeeded and from outside a call."""
    return _state.snapshot(_state.state.events)


def take_events() -> List[dict]:
    """Like ``events``, and forgets them, so the next call's come alone."""
    taken = _state.state.events
    _state.state.events = []
    return taken


def logs() -> List[dict]:
    """The lines written to the log so far, ``{"level", "message"}``,
    including those of calls that failed."""
    return _state.snapshot(_state.state.logs)

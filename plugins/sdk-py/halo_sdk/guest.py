"""Runs a ``View`` behind the component's exports: ``describe``, ``handle``,
``render`` and ``connect``, taking and returning JSON as text. The
component adapter calls these with the WIT records' fields; the in-memory
test host calls them too, so tests cross the same text boundary as halo."""

from __future__ import annotations

import inspect
import traceback
from typing import Any, Optional

from . import log
from ._json import dumps, loads
from .errors import ViewError
from .request import Client, Request
from .view import View, action_name


def spec(view: View) -> dict:
    """The view's spec as the host reads it (``defaults`` as JSON text)."""
    return {
        "name": view.name,
        "collection": view.collection_name,
        "defaults": dumps(view.default_attributes),
        "routes": view.allowed_routes,
        "handlers": view.handler_names,
        "render_per_client": view.renders_per_client,
        "connect": view.connect_check is not None,
    }


def _log_bug(where: str) -> None:
    """Anything but a ``ViewError`` is a bug in the view: it is logged with
    its traceback and raised on, which traps (the client gets
    ``plugin_failed``), as a panic does in a Rust view."""
    try:
        log.error(f"{where} failed: {traceback.format_exc()}")
    except Exception:  # noqa: BLE001 - no host to log to; the trap still tells
        pass


def handle(view: View, action: str, client: Client, data: str) -> str:
    """Runs the handler of ``action`` (for ``patch`` without one, that of
    ``update``) and returns its result as JSON text; an action without one
    is ``forbidden``, data that is not JSON ``invalid``. Raises
    ``ViewError`` for the client."""
    name = action_name(action)
    handler = view.handler(name)
    if handler is None:
        raise ViewError.forbidden(f"{view.name} does not handle {name}")
    # An event sent without data may arrive as empty text: treat it as null.
    parsed: Any = None
    if data.strip():
        try:
            parsed = loads(data)
        except ValueError:
            raise ViewError.invalid("the request data is not JSON") from None
    try:
        result = handler(Request(view, name, client, parsed))
        if inspect.isawaitable(result):
            # Closed, so it is not reported as never awaited on top of this.
            getattr(result, "close", lambda: None)()
            raise TypeError(f"the {name} handler is a coroutine: handlers must be synchronous")
        return dumps(result)
    except ViewError:
        raise
    except Exception:
        _log_bug(f"{view.name}:{name}")
        raise


def render(view: View, client: Client, model: str) -> Optional[str]:
    """How ``model`` (JSON text) looks to ``client``: JSON text, or ``None``
    to hide it. Unchanged without a render function; hidden when it is not
    JSON or the render function raises a ``ViewError`` (a failing privacy
    check hides rather than shows)."""
    if not view.renders_per_client:
        return model
    try:
        parsed = loads(model)
    except ValueError:
        return None
    try:
        rendered = view.render_for(client, parsed)
        return None if rendered is None else dumps(rendered)
    except ViewError as err:
        log.debug(f"render hid a model: {err.code}: {err.message}")
        return None
    except Exception:
        _log_bug(f"{view.name} render")
        raise


def connect(view: View, client: Client) -> None:
    """Admits (returns) or refuses (raises ``ViewError``) a connection; admits
    all without a check."""
    check = view.connect_check
    if check is None:
        return
    try:
        check(client)
    except ViewError:
        raise
    except Exception:
        _log_bug(f"{view.name} connect")
        raise


def resolve_view(exported: Any) -> View:
    """The view a module stands for: its ``view`` attribute (a ``View``, or a
    function that builds one), or a ``View`` itself."""
    found = getattr(exported, "view", exported)
    if callable(found) and not isinstance(found, View):
        found = found()
    if not isinstance(found, View):
        raise TypeError("halo_sdk: the view module must define `view = View(...)` (or a function returning one)")
    return found

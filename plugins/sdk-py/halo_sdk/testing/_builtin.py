"""The built-in routes a view does not handle itself. The host runs them
natively, outside the view; this is a small copy of what it does (same
answers and error codes for the same data), without the subscriptions and
pushes that only exist on the wire."""

from __future__ import annotations

from typing import Any, Callable, Optional

from .._json import equal, is_int, kind
from ..collection import collection
from ..errors import ErrorCode, ViewError
from ..request import Client
from ..view import CREATE, DELETE, LIST, PATCH, READ, UPDATE, View
from ._state import in_call

#: Longest id the host accepts from a client.
MAX_ID = 256

RenderFor = Callable[[Any], Optional[Any]]


def run(view: View, action: str, client: Client, data: Any, render_for: RenderFor) -> Any:
    """Serves ``action`` natively for ``client``, in one transaction;
    ``render_for`` is the per-client render as the host applies it."""
    models = collection(view.collection_name)

    def visible(id: str) -> Any:
        model = models.get(id)
        seen = None if model is None else render_for(model)
        if seen is None:
            raise _not_found(id)
        return seen

    def render_or_id(model: dict) -> Any:
        seen = render_for(model)
        return {"id": model.get("id")} if seen is None else seen

    def serve() -> Any:
        if action == CREATE:
            return render_or_id(models.create({**view.default_attributes, **_object(data)}))
        if action == READ:
            return visible(_required_id(data))
        if action in (UPDATE, PATCH):
            id = _required_id(data)
            if view.renders_per_client:
                visible(id)
            attributes = _object(data)
            before = models.get(id)
            if before is None:
                raise _not_found(id)
            stored = models.update(id, attributes)
            # As halo: merging equal values changes nothing and answers only the id.
            return {"id": id} if equal(before, stored) else render_or_id(stored)
        if action == DELETE:
            id = _required_id(data)
            # Already gone is success: the original client echoes the deletes it is pushed.
            try:
                visible(id)
                models.remove(id)
            except ViewError as err:
                if err.code != ErrorCode.NOT_FOUND:
                    raise
            return {"id": id}
        if action == LIST:
            return [seen for seen in map(render_for, models.list()) if seen is not None]
        # The host refuses to load a view with a custom route but no handler.
        raise ViewError.forbidden(f"custom route {action!r} has no handler: halo would refuse to load this view")

    return in_call(view.name, True, serve)


def _not_found(id: str) -> ViewError:
    return ViewError.not_found(f"no model with id {id!r}")


def _object(data: Any) -> dict:
    if not isinstance(data, dict):
        raise ViewError.invalid(f"data must be a JSON object, not {kind(data)}")
    return data


def _required_id(data: Any) -> str:
    """The ``id`` of ``data``: a non-empty string, or an integer as text."""
    if not isinstance(data, dict):
        raise ViewError.invalid(f"data must be a JSON object with an id, not {kind(data)}")
    id = data.get("id")
    if id is None:
        raise ViewError.invalid("data has no id")
    if isinstance(id, str) and id and len(id.encode()) <= MAX_ID:
        return id
    if is_int(id):
        return str(id)
    raise ViewError.invalid(f"id must be a non-empty string of at most {MAX_ID} bytes, not {kind(id)}")

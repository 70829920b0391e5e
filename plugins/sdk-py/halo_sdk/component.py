"""The component side: binds the WIT imports to the SDK and makes the class
componentize-py exports as the interface ``guest`` of ``halo:view@0.2.0``.
Only the generated entry of a build imports this module, since
``wit_world`` exists only inside a componentize-py build."""

from __future__ import annotations

from typing import List, Optional

from componentize_py_types import Err  # type: ignore[import-not-found]
from wit_world.imports import collections, events, types  # type: ignore[import-not-found]
from wit_world.imports import log as wit_log  # type: ignore[import-not-found]

from . import _host, guest
from .errors import ViewError
from .request import Client

_TO_WIT = {
    "forbidden": types.ErrorCode.FORBIDDEN,
    "not_found": types.ErrorCode.NOT_FOUND,
    "invalid": types.ErrorCode.INVALID,
    "unavailable": types.ErrorCode.UNAVAILABLE,
}
_FROM_WIT = {wit: code for code, wit in _TO_WIT.items()}
_LEVELS = {
    "trace": wit_log.Level.TRACE,
    "debug": wit_log.Level.DEBUG,
    "info": wit_log.Level.INFO,
    "warn": wit_log.Level.WARN,
    "error": wit_log.Level.ERROR,
}


def _view_error(err: Err) -> ViewError:
    """The SDK error for the WIT ``error`` an import raised."""
    record = err.value
    return ViewError(_FROM_WIT.get(record.code, "unavailable"), record.message)


def _wit_error(err: ViewError) -> Err:
    return Err(types.Error(code=_TO_WIT[err.code], message=err.message))


class WitHost:
    """The SDK's host over the WIT bindings: their ``Err`` becomes a
    ``ViewError``."""

    def get(self, collection: str, id: str) -> Optional[str]:
        try:
            return collections.get(collection, id)
        except Err as err:
            raise _view_error(err) from None

    def list(self, collection: str, filter: Optional[str], limit: Optional[int]) -> List[str]:
        try:
            return collections.list(collection, filter, limit)
        except Err as err:
            raise _view_error(err) from None

    def create(self, collection: str, model: str) -> str:
        try:
            return collections.create(collection, model)
        except Err as err:
            raise _view_error(err) from None

    def update(self, collection: str, id: str, attributes: str, only: Optional[List[str]]) -> str:
        try:
            return collections.update(collection, id, attributes, only)
        except Err as err:
            raise _view_error(err) from None

    def remove(self, collection: str, id: str) -> bool:
        try:
            return collections.remove(collection, id)
        except Err as err:
            raise _view_error(err) from None

    def to_client(self, connection: str, event: str, data: str) -> None:
        try:
            events.to_client(connection, event, data)
        except Err as err:
            raise _view_error(err) from None

    def to_subscribers(self, event: str, data: str) -> None:
        try:
            events.to_subscribers(event, data)
        except Err as err:
            raise _view_error(err) from None

    def log(self, level: str, message: str) -> None:
        wit_log.write(_LEVELS[level], message)


def _client(record: "types.Client") -> Client:
    return Client.from_wire(record.id, record.tenant, record.claims)


def make_guest(module: object) -> type:
    """The class componentize-py instantiates for the exported interface
    ``guest``, serving the view of ``module``. The view is built once, when
    the build snapshots the module, and kept for the instance's life."""
    view = guest.resolve_view(module)
    _host.bind(WitHost())

    class Guest:
        def describe(self) -> "types.ViewSpec":
            spec = guest.spec(view)
            return types.ViewSpec(**spec)

        def handle(self, action: str, client: "types.Client", data: str) -> str:
            try:
                return guest.handle(view, action, _client(client), data)
            except ViewError as err:
                raise _wit_error(err) from None

        def render(self, client: "types.Client", model: str) -> Optional[str]:
            return guest.render(view, _client(client), model)

        def connect(self, client: "types.Client") -> None:
            try:
                guest.connect(view, _client(client))
            except ViewError as err:
                raise _wit_error(err) from None

    return Guest

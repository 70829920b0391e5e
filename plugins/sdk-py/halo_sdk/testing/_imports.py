"""The host's imports, faked in memory: JSON as text, ``ViewError`` for the
host's errors. They check what the host checks (collection and event names,
JSON, the per-call caps, no writes in ``render`` or ``connect``) with the
same error codes."""

from __future__ import annotations

import sys
from typing import Any, List, Optional

from .._json import dumps, equal, loads
from ..errors import ViewError
from . import _state
from ._state import current, drop, find, new_id, push, state

#: Most writes one call may make, as in the host.
MAX_WRITES = 1000
#: Most custom events one call may emit, as in the host.
MAX_EMITS = 100
#: Most JSON one call may write, as in the host.
MAX_WRITE_BYTES = 16 << 20


def _size(text: str) -> int:
    return len(text.encode())


def _check_collection(name: str) -> None:
    if not name or _size(name) > 128:
        raise ViewError.invalid("collection names are 1 to 128 characters")


def _object(text: str, what: str) -> dict:
    try:
        value = loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ViewError.invalid(f"{what} is not a JSON object")
    return value


def _writing(size: int) -> Optional[_state.Call]:
    """The call in progress after checking it may write ``size`` more bytes;
    ``None`` outside a call (a test's own setup), where anything goes."""
    call = current()
    if call is None:
        return None
    if call.before is None:
        raise ViewError.forbidden("writes are only allowed in handle")
    call.bytes += size
    if call.bytes > MAX_WRITE_BYTES:
        raise ViewError.invalid(f"a call may write at most {MAX_WRITE_BYTES} bytes of JSON")
    return call


def _count_write(size: int) -> None:
    call = _writing(size)
    if call is None:
        return
    if call.writes >= MAX_WRITES:
        raise ViewError.invalid(f"a transaction may write at most {MAX_WRITES} times")
    call.writes += 1


def _count_emit(size: int) -> None:
    call = _writing(size)
    if call is None:
        return
    call.emitted += 1
    if call.emitted > MAX_EMITS:
        raise ViewError.invalid(f"a call may emit at most {MAX_EMITS} events")


class MemoryHost:
    """The SDK's host, in memory."""

    def get(self, collection: str, id: str) -> Optional[str]:
        _check_collection(collection)
        model = find(collection, id)
        return None if model is None else dumps(model)

    def list(self, collection: str, filter: Optional[str], limit: Optional[int]) -> List[str]:
        _check_collection(collection)
        wanted = None if filter is None else _object(filter, "filter")
        found: List[str] = []
        for model in state.collections.get(collection, []):
            if limit is not None and len(found) >= limit:
                break
            if wanted is None or all(k in model and equal(model[k], v) for k, v in wanted.items()):
                found.append(dumps(model))
        return found

    def create(self, collection: str, model: str) -> str:
        _check_collection(collection)
        stored = _object(model, "model")
        _count_write(_size(model))
        stored["id"] = new_id()
        push(collection, stored)
        return dumps(stored)

    def update(self, collection: str, id: str, attributes: str, only: Optional[List[str]]) -> str:
        _check_collection(collection)
        changes = _object(attributes, "attributes")
        _count_write(_size(attributes))
        model = find(collection, id)
        if model is None:
            raise ViewError.not_found(f"no model {dumps(id)} in {dumps(collection)}")
        for key, value in changes.items():
            if key == "id" or (only is not None and key not in only):
                continue
            model[key] = value
        return dumps(model)

    def remove(self, collection: str, id: str) -> bool:
        _check_collection(collection)
        _count_write(_size(id))
        return drop(collection, id)

    def _emit(self, to: dict, event: str, data: str) -> None:
        """Queues ``<view>:<event>`` for the call's commit; outside a call it
        is sent at once, named just ``event``."""
        if not event or _size(event) > 64 or ":" in event or "/" in event:
            raise ViewError.invalid("event names are 1 to 64 characters without ':' or '/'")
        try:
            parsed: Any = loads(data)
        except ValueError:
            raise ViewError.invalid("event data is not JSON") from None
        _count_emit(_size(data))
        call = current()
        sent = {**to, "name": f"{call.view}:{event}" if call else event, "data": parsed}
        (call.events if call else state.events).append(sent)

    def to_client(self, connection: str, event: str, data: str) -> None:
        self._emit({"to": "client", "connection": connection}, event, data)

    def to_subscribers(self, event: str, data: str) -> None:
        self._emit({"to": "subscribers"}, event, data)

    def log(self, level: str, message: str) -> None:
        """Keeps the line whether or not the call commits, and prints it to
        stderr, which pytest shows for a failing test."""
        state.logs.append({"level": level, "message": message})
        print(f"[halo log {level}] {message}", file=sys.stderr)

"""The in-memory host's state: collections, sent events and log lines, and
the calls in progress with what each must undo. One per process; ``reset()``
empties it between tests."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, TypeVar

T = TypeVar("T")


@dataclass
class Call:
    """One call of the view in progress, as the host runs it."""

    #: The view's name, the prefix of the events it emits.
    view: str
    #: The collections before the call, put back unless it commits; ``None``
    #: for a call that may not write (``render``, ``connect``).
    before: Optional[Dict[str, List[dict]]]
    events: List[dict] = field(default_factory=list)
    writes: int = 0
    bytes: int = 0
    emitted: int = 0


@dataclass
class State:
    #: Models per collection, each in creation order.
    collections: Dict[str, List[dict]] = field(default_factory=dict)
    #: How many ids were handed out, so the next one is new.
    ids: int = 0
    #: Events sent: those of committed calls, and those emitted outside one.
    events: List[dict] = field(default_factory=list)
    logs: List[dict] = field(default_factory=list)
    #: Calls in progress, innermost last.
    calls: List[Call] = field(default_factory=list)


state = State()


def clear() -> None:
    state.__init__()  # type: ignore[misc]


def find(collection: str, id: str) -> Optional[dict]:
    """The model ``id`` of ``collection``, stored (not a copy)."""
    for model in state.collections.get(collection, []):
        if model.get("id") == id:
            return model
    return None


def push(collection: str, model: dict) -> None:
    state.collections.setdefault(collection, []).append(model)


def drop(collection: str, id: str) -> bool:
    """Deletes the model ``id`` of ``collection``; returns whether it existed."""
    models = state.collections.get(collection, [])
    for at, model in enumerate(models):
        if model.get("id") == id:
            del models[at]
            return True
    return False


def new_id() -> str:
    """A fresh id shaped like the host's: a UUIDv7 as 32 lowercase hex
    digits, later ids sorting after earlier ones. Its clock is a counter that
    ``reset`` restarts, so test runs are repeatable."""
    state.ids += 1
    return f"{state.ids >> 62:012x}7000{(1 << 63) | state.ids:016x}"


def current() -> Optional[Call]:
    return state.calls[-1] if state.calls else None


def in_call(view: str, writable: bool, fn: Callable[[], T]) -> T:
    """Runs ``fn`` as one call of ``view``: committed when it returns (when
    ``writable``), rolled back when it raises."""
    call = Call(view, copy.deepcopy(state.collections) if writable else None)
    state.calls.append(call)
    try:
        result = fn()
    except BaseException:
        state.calls.pop()
        if call.before is not None:
            state.collections = call.before
        raise
    state.calls.pop()
    if writable:
        outer = current()
        (outer.events if outer else state.events).extend(call.events)
    return result


def snapshot(value: Any) -> Any:
    return copy.deepcopy(value)

"""JSON helpers used in several places: text in and out as the host writes
it, what kind a value is (for error messages), and equality of JSON values,
where Python's own ``==`` would take ``True`` for ``1``."""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> str:
    """Compact JSON text; NaN and infinities are no JSON, so they raise."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def loads(text: str) -> Any:
    return json.loads(text)


def is_object(value: Any) -> bool:
    return isinstance(value, dict)


def is_int(value: Any) -> bool:
    """Whether ``value`` is a JSON integer (a bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def kind(value: Any) -> str:
    """How an error message names the kind of ``value``, as the host does."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def equal(a: Any, b: Any) -> bool:
    """Whether two JSON values are equal; key order does not matter."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)):
        return isinstance(b, (int, float)) and a == b
    return type(a) is type(b) and a == b


def copy(value: Any) -> Any:
    """A deep copy of a JSON value."""
    return loads(dumps(value))

"""The host's imports as the SDK reaches them.

In a component, ``halo_sdk.component`` binds an adapter over the WIT
bindings; under pytest, ``halo_sdk.testing`` binds an in-memory host. Both
take and return JSON as text, and raise ``ViewError`` for the host's errors.
Keeping the SDK free of ``wit_world`` imports is what lets a view module run
in both.
"""

from __future__ import annotations

from typing import List, Optional, Protocol


class Host(Protocol):
    """What a host offers: the WIT imports with SDK errors."""

    def get(self, collection: str, id: str) -> Optional[str]: ...

    def list(self, collection: str, filter: Optional[str], limit: Optional[int]) -> List[str]: ...

    def create(self, collection: str, model: str) -> str: ...

    def update(self, collection: str, id: str, attributes: str, only: Optional[List[str]]) -> str: ...

    def remove(self, collection: str, id: str) -> bool: ...

    def to_client(self, connection: str, event: str, data: str) -> None: ...

    def to_subscribers(self, event: str, data: str) -> None: ...

    def log(self, level: str, message: str) -> None: ...


_bound: Optional[Host] = None


def bind(host: Host) -> None:
    """Makes ``host`` the one every SDK call reaches."""
    global _bound
    _bound = host


def host() -> Host:
    """The bound host; raises when there is none, e.g. a view run by plain python."""
    if _bound is None:
        raise RuntimeError(
            "halo_sdk: no host is bound: build the view with halo-view-build-py, "
            "or import halo_sdk.testing in tests"
        )
    return _bound

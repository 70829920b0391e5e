"""halo_sdk: write halo views in Python.

A view module defines ``view = View(...)`` and registers handlers with
decorators; ``halo-view-build-py`` (or ``python -m halo_sdk.build``) turns
it into a WebAssembly component for ``halo:view@0.2.0``, and
``halo_sdk.testing`` runs it against an in-memory host under pytest.
"""

from . import events, log
from .collection import Collection, collection
from .errors import ErrorCode, ViewError
from .request import Client, Request
from .view import CREATE, DELETE, LIST, PATCH, READ, UPDATE, View, action_name

__all__ = [
    "CREATE",
    "DELETE",
    "LIST",
    "PATCH",
    "READ",
    "UPDATE",
    "Client",
    "Collection",
    "ErrorCode",
    "Request",
    "View",
    "ViewError",
    "action_name",
    "collection",
    "events",
    "log",
]

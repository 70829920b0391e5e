"""Push custom events to clients; they are sent after the request commits
and dropped if it fails."""

from __future__ import annotations

from typing import Any

from . import _host
from ._json import dumps


def to_client(connection: str, event: str, data: Any = None) -> None:
    """Sends ``<view>:<event>`` with ``data`` to one connection of the tenant,
    e.g. ``req.client.id``. A connection that is gone is ignored."""
    _host.host().to_client(str(connection), str(event), dumps(data))


def to_subscribers(event: str, data: Any = None) -> None:
    """Sends ``<view>:<event>`` with ``data`` to every connection subscribed
    to this view (after a ``list``), except the requester."""
    _host.host().to_subscribers(str(event), dumps(data))

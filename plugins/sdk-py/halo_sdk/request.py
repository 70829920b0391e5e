"""The ``Request`` a handler serves, and the ``Client`` it is served for."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ._json import is_int, loads
from .collection import Collection
from .errors import ViewError
from .view import View


class Client:
    """The connection a call is made for."""

    __slots__ = ("id", "tenant", "claims")

    def __init__(self, id: str, tenant: str = "", claims: Optional[Dict[str, Any]] = None) -> None:
        """A client with connection ``id``, ``tenant`` and handshake
        ``claims``; claims that are not a dict count as none."""
        #: The Socket.IO connection id, e.g. for ``events.to_client``.
        self.id = str(id)
        #: The connection's tenant; empty for the single-tenant default.
        self.tenant = str(tenant)
        #: The verified claims of the handshake's ``auth``, e.g. ``{"user": "alice"}``.
        self.claims: Dict[str, Any] = claims if isinstance(claims, dict) else {}

    def claim_str(self, name: str) -> Optional[str]:
        """The claim ``name`` if it is a string, e.g. ``claim_str("user")``."""
        value = self.claims.get(name)
        return value if isinstance(value, str) else None

    @classmethod
    def from_wire(cls, id: str, tenant: str, claims: str) -> Client:
        """A client from the WIT record's fields, parsing its claims once."""
        try:
            parsed = loads(claims)
        except ValueError:
            # The host sends verified claims; anything unreadable counts as none.
            parsed = None
        return cls(id, tenant, parsed)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Client) and (self.id, self.tenant, self.claims) == (
            other.id,
            other.tenant,
            other.claims,
        )

    def __repr__(self) -> str:
        return f"Client({self.id!r}, {self.tenant!r}, {self.claims!r})"


class Request:
    """One client's call of one action, as a handler sees it."""

    def __init__(self, view: View, action: str, client: Client, data: Any) -> None:
        #: The view serving the request.
        self.view = view
        #: The action invoked, e.g. ``update`` or ``archive``.
        self.action = action
        #: The connection the request came from.
        self.client = client
        #: The request's data as the client sent it: for ``create``,
        #: ``update`` and ``patch``, the model's attributes.
        self.data = data

    def id(self) -> str:
        """The ``id`` attribute of the data: a non-empty string, or an
        integer as text. Raises ``invalid`` when it is missing or anything
        else."""
        id = self.data.get("id") if isinstance(self.data, dict) else None
        if isinstance(id, str) and id:
            return id
        if id is None:
            raise ViewError.invalid("the request has no id")
        if is_int(id):
            return str(id)
        raise ViewError.invalid("id must be a non-empty string or an integer")

    def collection(self) -> Collection:
        """The view's own collection."""
        return Collection(self.view.collection_name)

    def with_defaults(self, data: Any) -> Dict[str, Any]:
        """The view's defaults with the attributes of ``data`` (a dict) over
        them: what the host's native ``create`` would store. Raises
        ``invalid`` when ``data`` is not a dict."""
        if not isinstance(data, dict):
            raise ViewError.invalid("the model must be a JSON object")
        model = self.view.default_attributes
        model.update(data)
        return model

    def render(self, model: Any) -> Any:
        """``model`` as the requesting client may see it, through the view's
        render function. A model hidden from the client raises
        ``not_found``, as if it did not exist."""
        rendered = self.view.render_for(self.client, model)
        if rendered is None:
            raise ViewError.not_found("no such model")
        return rendered

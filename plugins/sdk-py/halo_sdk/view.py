"""The ``View`` builder: what a view is, which actions clients may invoke,
and the handlers it overrides. Everything it does not override runs
natively in the host."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional

from ._json import copy

if TYPE_CHECKING:
    from .request import Client, Request

Handler = Callable[["Request"], Any]
RenderFn = Callable[["Client", Any], Any]
ConnectFn = Callable[["Client"], None]

# The built-in actions; any other name is a custom action.
CREATE = "create"
READ = "read"
UPDATE = "update"
PATCH = "patch"
DELETE = "delete"
LIST = "list"


def action_name(name: str) -> str:
    """The action named ``name``: ``destroy`` is ``delete``, as in the host."""
    text = str(name)
    return DELETE if text == "destroy" else text


class View:
    """A view: its name, backing collection, defaults, the actions clients may
    invoke, and the handlers, render function and connection check it
    overrides::

        view = View("Todos").defaults({"title": ""}).routes(["create", "read", "list"])

        @view.on("create")
        def create(req):
            return req.render(req.collection().create(req.with_defaults(req.data)))

    ``collection``, ``defaults`` and ``routes`` return the view, so they
    chain; ``on`` (without a handler), ``render`` and ``connect`` are
    decorators and return the function they register.
    """

    def __init__(self, name: str) -> None:
        """A view named ``name``: the first segment of the Backbone ``url``
        and the prefix of every event (``<name>:<action>``). It starts with
        no routes, no defaults, and the collection of the same name."""
        self._name = str(name)
        self._collection: Optional[str] = None
        self._defaults: Dict[str, Any] = {}
        self._routes: List[str] = []
        self._handlers: Dict[str, Handler] = {}
        self._render: Optional[RenderFn] = None
        self._connect: Optional[ConnectFn] = None

    def collection(self, name: str) -> View:
        """Backs the view with collection ``name`` instead of the view's name."""
        self._collection = str(name)
        return self

    def defaults(self, defaults: Dict[str, Any]) -> View:
        """Attributes every model created through this view starts with. The
        host applies them on its native ``create``; a custom ``create``
        handler applies them with ``req.with_defaults``. Raises ``TypeError``
        unless ``defaults`` is a dict: the view then fails to build."""
        if not isinstance(defaults, dict):
            raise TypeError(f"view {self._name!r}: defaults must be a JSON object, not {defaults!r}")
        self._defaults = copy(defaults)
        return self

    def routes(self, routes: Iterable[str]) -> View:
        """Allows clients to invoke ``routes`` (built-in action names or
        custom ones) in addition to those allowed already. Anything else is
        refused with ``forbidden`` before the view is called."""
        for route in routes:
            self._allow(action_name(route))
        return self

    def on(self, action: str, handler: Optional[Handler] = None) -> Any:
        """Serves ``action`` with ``handler(req)`` instead of the host's
        built-in, and allows the action if it is not a route yet. The handler
        returns what the client's ack carries (any JSON value) or raises a
        ``ViewError``; a later ``on`` for the same action replaces it.
        ``patch`` without a handler of its own uses the ``update`` handler.

        With a handler it returns the view; without, a decorator."""
        name = action_name(action)

        def register(fn: Handler) -> Handler:
            if not callable(fn):
                raise TypeError(f"view {self._name}: the handler of {name} is not callable")
            self._allow(name)
            self._handlers[name] = fn
            return fn

        if handler is None:
            return register
        register(handler)
        return self

    def render(self, fn: RenderFn) -> RenderFn:
        """Decorator: ``fn(client, model)`` decides how each model looks to
        each client, returning what to send or ``None`` to hide it. The host
        then calls it for every model it sends, to every client. Decide on
        ``client.claims``, not ``client.id``: one call may stand for several
        connections with the same claims."""
        if not callable(fn):
            raise TypeError(f"view {self._name}: render is not callable")
        self._render = fn
        return fn

    def connect(self, fn: ConnectFn) -> ConnectFn:
        """Decorator: ``fn(client)`` admits (returns) or refuses (raises a
        ``ViewError``, sent to the client) every new connection of the
        tenant, e.g. by checking its claims."""
        if not callable(fn):
            raise TypeError(f"view {self._name}: connect is not callable")
        self._connect = fn
        return fn

    @property
    def name(self) -> str:
        return self._name

    @property
    def collection_name(self) -> str:
        """The name of the collection the view exposes."""
        return self._collection if self._collection is not None else self._name

    @property
    def default_attributes(self) -> Dict[str, Any]:
        """A copy of the attributes every created model starts with."""
        return copy(self._defaults)

    @property
    def allowed_routes(self) -> List[str]:
        return list(self._routes)

    @property
    def handler_names(self) -> List[str]:
        """The actions the view has handlers for, in the order registered."""
        return list(self._handlers)

    @property
    def renders_per_client(self) -> bool:
        return self._render is not None

    @property
    def connect_check(self) -> Optional[ConnectFn]:
        return self._connect

    def handler(self, action: str) -> Optional[Handler]:
        """The handler that serves ``action``: its own, or for ``patch`` that
        of ``update``."""
        name = action_name(action)
        found = self._handlers.get(name)
        if found is None and name == PATCH:
            found = self._handlers.get(UPDATE)
        return found

    def handles(self, action: str) -> bool:
        return self.handler(action) is not None

    def render_for(self, client: Client, model: Any) -> Any:
        """How ``model`` looks to ``client``: the render function's answer, or
        the model unchanged."""
        if self._render is None:
            return model
        return self._render(client, model)

    def _allow(self, action: str) -> None:
        if action not in self._routes:
            self._routes.append(action)

    def __repr__(self) -> str:
        return (
            f"View({self._name!r}, collection={self.collection_name!r}, routes={self._routes!r}, "
            f"handlers={self.handler_names!r}, render_per_client={self.renders_per_client})"
        )

"""Read and write the tenant's collections. All writes of one request form
one transaction: committed when the handler returns, discarded when it
raises."""

from __future__ import annotations

from typing import Any, Iterable, List, Optional

from . import _host, log
from ._json import dumps, loads
from .errors import ViewError


def _parse(text: str) -> Any:
    """Models come from the host, so JSON that does not parse is the host's
    fault, not the client's: ``unavailable``."""
    try:
        return loads(text)
    except ValueError as err:
        log.error(f"the host returned malformed JSON: {err}")
        raise ViewError.unavailable("the store returned malformed data") from None


class Collection:
    """A handle on one collection of the tenant; see ``collection()`` and
    ``Request.collection()``. Models cross the boundary as JSON text: the
    handle serializes what it sends and parses what it gets."""

    def __init__(self, name: str) -> None:
        self._name = str(name)

    @property
    def name(self) -> str:
        return self._name

    def get(self, id: str) -> Optional[dict]:
        """The model ``id``, or ``None`` if there is none."""
        text = _host.host().get(self._name, str(id))
        return None if text is None else _parse(text)

    def list(self, filter: Optional[dict] = None, limit: Optional[int] = None) -> List[dict]:
        """Models in creation order whose attributes all equal those of
        ``filter`` (a dict), at most ``limit`` of them."""
        texts = _host.host().list(self._name, None if filter is None else dumps(filter), limit)
        return [_parse(text) for text in texts]

    def create(self, model: dict) -> dict:
        """Stores ``model`` as a new model and returns it with the ``id`` the
        host assigned. Defaults are not applied here: see
        ``Request.with_defaults``."""
        return _parse(_host.host().create(self._name, dumps(model)))

    def update(self, id: str, attributes: dict, only: Optional[Iterable[str]] = None) -> dict:
        """Merges ``attributes`` (its ``id`` is ignored) into the model ``id``
        and returns the result. With ``only``, attributes not named in it are
        left unchanged. Raises ``not_found`` when there is no such model."""
        names = None if only is None else [str(name) for name in only]
        return _parse(_host.host().update(self._name, str(id), dumps(attributes), names))

    def remove(self, id: str) -> bool:
        """Deletes the model ``id``; returns whether it existed."""
        return _host.host().remove(self._name, str(id))

    def __repr__(self) -> str:
        return f"collection({self._name!r})"


def collection(name: str) -> Collection:
    """The tenant's collection ``name`` (there is no way to name another
    tenant's)."""
    return Collection(name)

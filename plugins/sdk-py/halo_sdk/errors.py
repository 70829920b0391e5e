"""The error a view raises: a code the client acts on and a message it shows.

Raising one from a handler also discards every write the handler made.
"""

from __future__ import annotations


class ErrorCode:
    """The codes a client receives, as the Rust SDK's ``ErrorCode::as_str``."""

    #: The client may not do this.
    FORBIDDEN = "forbidden"
    #: The model does not exist, or is hidden from this client.
    NOT_FOUND = "not_found"
    #: The data is malformed or breaks a rule of the view.
    INVALID = "invalid"
    #: The view cannot serve the request right now.
    UNAVAILABLE = "unavailable"

    ALL = (FORBIDDEN, NOT_FOUND, INVALID, UNAVAILABLE)


class ViewError(Exception):
    """What went wrong, as the client sees it: the host sends it as the ack's
    first argument, ``{"code": "<code>", "message": "<message>"}``."""

    def __init__(self, code: str, message: str) -> None:
        if code not in ErrorCode.ALL:
            raise ValueError(f"{code!r} is not an error code ({', '.join(ErrorCode.ALL)})")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = str(message)

    @classmethod
    def forbidden(cls, message: str) -> ViewError:
        """The client may not do this."""
        return cls(ErrorCode.FORBIDDEN, message)

    @classmethod
    def not_found(cls, message: str) -> ViewError:
        """The model does not exist, or is hidden from this client."""
        return cls(ErrorCode.NOT_FOUND, message)

    @classmethod
    def invalid(cls, message: str) -> ViewError:
        """The data is malformed or breaks a rule of the view."""
        return cls(ErrorCode.INVALID, message)

    @classmethod
    def unavailable(cls, message: str) -> ViewError:
        """The view cannot serve the request right now."""
        return cls(ErrorCode.UNAVAILABLE, message)

    def to_json(self) -> dict:
        """``{code, message}``, as the client's ack carries it."""
        return {"code": self.code, "message": self.message}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ViewError) and (self.code, self.message) == (other.code, other.message)

    def __hash__(self) -> int:
        return hash((self.code, self.message))

"""Write to the host's log, where every line is tagged with the tenant and
the view. In a component ``print`` reaches it too, through stdout."""

from __future__ import annotations

from . import _host

#: Severities, lowest first.
LEVELS = ("trace", "debug", "info", "warn", "error")


def write(level: str, message: str) -> None:
    """Writes one line at ``level`` (one of ``LEVELS``)."""
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}")
    _host.host().log(level, str(message))


def trace(message: str) -> None:
    write("trace", message)


def debug(message: str) -> None:
    write("debug", message)


def info(message: str) -> None:
    write("info", message)


def warn(message: str) -> None:
    write("warn", message)


def error(message: str) -> None:
    write("error", message)

"""The id of the request being served, for log lines and the code an error page asks users to quote.

RequestIdMiddleware sets it for the whole request (it runs first); RequestIdFilter, attached to the
log handlers in settings.LOGGING, copies it onto every record as ``record.request_id``.
"""

import logging
import re
import uuid
from contextvars import ContextVar

from django.http import HttpRequest

NO_REQUEST = "-"
HEADER = "X-Request-ID"

# A proxy's id is kept only when it is a plain token: it goes into log lines and an HTML page, so no
# spaces, quotes, angle brackets or line breaks (log injection), and a bounded length.
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")

_current: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)


def get_request_id() -> str:
    """The current request's id, or "-" outside a request (management commands, workers)."""
    return _current.get()


def new_request_id(request: HttpRequest) -> str:
    """X-Request-ID from the proxy when it is a safe token (it ties our logs to the proxy's), else a
    fresh uuid4 hex."""
    incoming = request.headers.get(HEADER, "")
    if _SAFE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def bind(request_id: str):
    """Make ``request_id`` current; returns the token for ``unbind``."""
    return _current.set(request_id)


def unbind(token) -> None:
    _current.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (never drops one), so formats can use %(request_id)s."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = get_request_id()
        return True

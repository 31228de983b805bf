"""One name for each way a Redis call fails, shared by the chaos workload and Locust.

``READONLY``, ``NOREPLICAS``, ``LOADING``, ``MASTERDOWN``, ... (the server's own error
code), ``ERR`` (other server errors), ``timeout``, ``connection-refused``,
``connection-closed``, ``connection-error``; ``no-master-found``/``no-replica-found``
(redis-py's Sentinel client found none); anything else by its exception class.

redis-py's Sentinel client turns a master's ``READONLY`` into a connection error ("The
previous master is now a slave", after dropping the connection to rediscover): it is
still the server's refusal, ``READONLY``.

redis-py's parser strips the error code from the message and maps some codes to classes
of its own (``READONLY`` -> ``ReadOnlyError``, ``LOADING`` -> ``BusyLoadingError``, which
is a *connection* error, ``MASTERDOWN`` -> ``MasterDownError``), so the message's first
word is not the code. The code is read from the exception (``status_code``, redis-py 7+),
else from its class, else from the message (codes redis-py has no class for, such as
``NOREPLICAS``, stay in the message).
"""

from __future__ import annotations

import redis
from redis import exceptions as rx
from redis.sentinel import MasterNotFoundError, SlaveNotFoundError

__all__ = ["classify", "server_refused"]

# redis-py's classes for server error codes (BaseParser.EXCEPTION_CLASSES, reversed).
_CODE_OF_CLASS: dict[type, str] = {
    rx.ReadOnlyError: "READONLY",
    rx.BusyLoadingError: "LOADING",
    rx.MasterDownError: "MASTERDOWN",
    rx.NoScriptError: "NOSCRIPT",
    rx.OutOfMemoryError: "OOM",
    rx.ExecAbortError: "EXECABORT",
    rx.NoPermissionError: "NOPERM",
    rx.TryAgainError: "TRYAGAIN",
    rx.ClusterDownError: "CLUSTERDOWN",
    rx.AuthenticationError: "auth",  # NOAUTH or WRONGPASS: the class does not say which
}


# What redis-py's SentinelManagedConnection raises on READONLY from a master.
_DEMOTED_MASTER = "The previous master is now a slave"


def _server_code(exc: BaseException) -> str | None:
    """The server's error code when ``exc`` is a server's error reply, else None."""
    if isinstance(exc, redis.ConnectionError) and str(exc) == _DEMOTED_MASTER:
        return "READONLY"
    code = getattr(exc, "status_code", None)
    if code:
        return str(code)
    for cls in type(exc).__mro__:  # most specific first: MasterDownError before ClusterDown
        if cls in _CODE_OF_CLASS:
            return _CODE_OF_CLASS[cls]
    if isinstance(exc, redis.ResponseError):
        word = str(exc).split(" ", 1)[0]
        return word if word.isupper() and word.isalpha() else "ERR"
    return None


def server_refused(exc: BaseException) -> bool:
    """True when the server answered with an error: the command certainly did not run
    (even for ``LOADING``, which redis-py raises as a connection error)."""
    return _server_code(exc) is not None


def classify(exc: BaseException) -> str:
    code = _server_code(exc)
    if code:
        return code
    if isinstance(exc, MasterNotFoundError):
        return "no-master-found"
    if isinstance(exc, SlaveNotFoundError):
        return "no-replica-found"
    if isinstance(exc, redis.TimeoutError):
        return "timeout"
    if isinstance(exc, redis.ConnectionError):
        text = str(exc).lower()
        if "refused" in text:
            return "connection-refused"
        if "closed" in text or "reset" in text or "broken pipe" in text:
            return "connection-closed"
        return "connection-error"
    return type(exc).__name__

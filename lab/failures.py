"""One name for each way a Redis call fails, shared by the chaos workload and Locust.

``READONLY``, ``NOREPLICAS``, ``LOADING``, ``MASTERDOWN``, ... (the server's own error
word), ``ERR`` (other server errors), ``timeout``, ``connection-refused``,
``connection-closed``, ``connection-error``; anything else by its exception class.
"""

from __future__ import annotations

import redis


def classify(exc: BaseException) -> str:
    if isinstance(exc, redis.ResponseError):
        word = str(exc).split(" ", 1)[0]
        return word if word.isupper() else "ERR"
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

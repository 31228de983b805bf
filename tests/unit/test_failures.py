"""Failure classes: the same names in the chaos history and in Locust's tables.

Server replies are built by redis-py's own parser (``parse_error``, what its RESP2 and
RESP3 parsers call on a ``-CODE message`` line), so the test sees exactly the exception
class and message a client gets: redis-py strips the code and maps some codes to classes
of its own (LOADING is even a connection error).
"""

import pytest
import redis
from redis._parsers.base import BaseParser

from lab.failures import classify, server_refused

SERVER_REPLIES = [
    ("READONLY You can't write against a read only replica.", "READONLY"),
    ("NOREPLICAS Not enough good replicas to write.", "NOREPLICAS"),
    ("LOADING Redis is loading the dataset in memory", "LOADING"),
    ("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
     "MASTERDOWN"),
    ("ERR wrong number of arguments for 'set' command", "ERR"),
    ("NOAUTH Authentication required.", "NOAUTH"),
    ("WRONGPASS invalid username-password pair or user is disabled.", "WRONGPASS"),
    ("OOM command not allowed when used memory > 'maxmemory'.", "OOM"),
    ("BUSY Redis is busy running a script.", "BUSY"),
    ("EXECABORT Transaction discarded because of previous errors.", "EXECABORT"),
]


@pytest.mark.parametrize(("reply", "name"), SERVER_REPLIES)
def test_server_replies_as_redis_py_parses_them(reply, name):
    exc = BaseParser.parse_error(reply)
    assert classify(exc) == name
    assert server_refused(exc)  # the server answered: the command did not run


@pytest.mark.parametrize(("reply", "name"), SERVER_REPLIES)
def test_server_replies_without_status_code(reply, name):
    """redis-py before 7 sets no ``status_code``: the class, or the message, names it."""
    exc = BaseParser.parse_error(reply)
    exc.status_code = None
    auth = isinstance(exc, redis.AuthenticationError)
    assert classify(exc) == ("auth" if auth else name)
    assert server_refused(exc)


@pytest.mark.parametrize(
    ("exc", "name"),
    [
        (redis.TimeoutError("Timeout reading from socket"), "timeout"),
        (redis.ConnectionError("Error 111 connecting to 10.0.0.1:5000. Connection refused."),
         "connection-refused"),
        (redis.ConnectionError("Connection closed by server."), "connection-closed"),
        (redis.ConnectionError("Error 104 while writing to socket. Connection reset by peer."),
         "connection-closed"),
        (redis.ConnectionError("Error -2 connecting to nowhere."), "connection-error"),
        (ValueError("x"), "ValueError"),
    ],
)
def test_client_side_failures(exc, name):
    assert classify(exc) == name
    assert not server_refused(exc)  # sent, maybe: a write's fate is unknown

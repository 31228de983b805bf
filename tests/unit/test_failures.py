"""Failure classes: the same names in the chaos history and in Locust's tables."""

import pytest
import redis

from lab.failures import classify


@pytest.mark.parametrize(
    ("exc", "name"),
    [
        (redis.ResponseError("READONLY You can't write against a read only replica."),
         "READONLY"),
        (redis.ResponseError("NOREPLICAS Not enough good replicas to write."), "NOREPLICAS"),
        (redis.ResponseError("LOADING Redis is loading the dataset in memory"), "LOADING"),
        (redis.ResponseError("MASTERDOWN Link with MASTER is down"), "MASTERDOWN"),
        (redis.ResponseError("wrong number of arguments"), "ERR"),
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
def test_classify(exc, name):
    assert classify(exc) == name

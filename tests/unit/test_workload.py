"""The workload's outcome of one write, on a fake connection: acknowledged, unconfirmed
(WAIT short of N), refused, or unknown, and who served it."""

import redis

from lab.access import Access
from lab.chaos.workload import Workload, WorkloadSettings
from lab.clients import Link
from lab.config import from_dict
from lab.routes import Ack
from lab.topology import build

TOPO = build(from_dict({}))


class FakeConnection:
    def __init__(self):
        self.callbacks = []
        self.connected = False

    def register_connect_callback(self, callback):
        self.callbacks.append(callback)

    def connect(self):
        if not self.connected:
            self.connected = True
            for callback in self.callbacks:
                callback(self)

    def disconnect(self):
        self.connected = False


class FakeRedis:
    """What a write meets: ``set_error`` raised by SET, ``replicas`` answered by WAIT."""

    def __init__(self, replicas=2, set_error=None, wait_error=None):
        self.connection = FakeConnection()
        self.replicas, self.set_error, self.wait_error = replicas, set_error, wait_error

    def client_info(self):
        return {"laddr": "192.168.56.11:6379", "id": "7"}

    def set(self, key, value):
        if self.set_error:
            raise self.set_error
        return True

    def wait(self, replicas, timeout):
        if self.wait_error:
            raise self.wait_error
        return self.replicas

    def close(self):
        pass


class Recorder:
    def __init__(self):
        self.events = []

    def record(self, type_, t=None, **fields):
        self.events.append(fields)


def write_once(fake: FakeRedis, ack: Ack) -> dict:
    history = Recorder()
    workload = Workload(TOPO, Access("pw"), history, "run", WorkloadSettings(ack=ack))
    shard = TOPO.shard(1)
    link = Link(lambda: fake, "192.168.56.11", shard.master_port, ":5000")  # as RouteMap makes
    workload._op({(1, "master"): link}, 0, shard, "master", "k", "1")
    [event] = history.events
    return event


def test_wait_short_of_n_is_unconfirmed_not_acknowledged():
    assert write_once(FakeRedis(replicas=2), Ack(2, 200))["outcome"] == "ok"
    short = write_once(FakeRedis(replicas=1), Ack(2, 200))
    assert (short["outcome"], short["confirmed"]) == ("unconfirmed", 1)
    # The master acknowledged, then WAIT never answered: still unconfirmed, not unknown.
    lost_wait = write_once(FakeRedis(wait_error=redis.TimeoutError("t")), Ack(1, 200))
    assert (lost_wait["outcome"], lost_wait["error"]) == ("unconfirmed", "timeout")
    assert "confirmed" not in write_once(FakeRedis(), Ack())  # plain: no WAIT at all


def test_refused_and_broken_writes_and_who_served_them():
    refused = write_once(FakeRedis(set_error=redis.exceptions.ReadOnlyError("x")), Ack())
    assert (refused["outcome"], refused["error"]) == ("fail", "READONLY")
    broken = write_once(FakeRedis(set_error=redis.ConnectionError("Connection closed")), Ack())
    assert broken["outcome"] == "unknown"
    # redis-py's Sentinel client turns READONLY into a connection error: still a refusal.
    demoted = write_once(FakeRedis(set_error=redis.ConnectionError(
        "The previous master is now a slave")), Ack())
    assert (demoted["outcome"], demoted["error"]) == ("fail", "READONLY")
    assert demoted["served"] == refused["served"] == "192.168.56.11:6379"
    assert (refused["route"], refused["host"], refused["port"]) == ("haproxy", "192.168.56.11",
                                                                    5000)

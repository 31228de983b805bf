"""Locust as the lab starts it: the command line, without running it."""

from pathlib import Path
from types import SimpleNamespace

from lab.load import LoadOptions, LoadProcess


def test_locust_processes_talk_over_loopback_on_a_port_of_their_own():
    """Locust's master for --processes listened on every interface at 5557: reachable from
    outside, and colliding with a second run or a distributed master."""

    def command(processes):
        load = LoadProcess.__new__(LoadProcess)
        load.options = LoadOptions(processes=processes)
        load.out_dir = Path("/tmp/x")
        load.lab_arguments = lambda: []
        load.lab = SimpleNamespace()
        return load.command()

    one = command(1)
    assert "--processes" not in one and "--master-bind-host" not in one
    two = command(2)
    host = two[two.index("--master-bind-host") + 1]
    bind, port = two[two.index("--master-bind-port") + 1], two[two.index("--master-port") + 1]
    assert host == "127.0.0.1" and bind == port and int(port) > 0

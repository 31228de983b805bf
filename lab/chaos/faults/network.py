"""Faults on the network: partitions cut with tagged iptables rules, packet loss, latency.

Partitions between processes on one server use ``-m owner --uid-owner`` (each Redis and
Sentinel runs as the uid equal to its port), so the same rules work in every layout.
"""

from __future__ import annotations

from lab.chaos.faults.base import Applied, Fault, FaultSkipped, Param, register

SHARD = Param("shard", "shard", 1)
SERVER = Param("server", "server", 1)


class _ShardPartition(Fault):
    family = "network"
    params = (SHARD,)
    touches = "shard"


@register
class PartitionSentinels(_ShardPartition):
    """Cut every Sentinel of the shard off from its master; clients still reach it."""

    name = "partition-sentinels"
    words = "iptables: cut shard {shard}'s Sentinels off from its master"

    def inject(self, nemesis, shard):
        master = nemesis.master_of(shard)
        sentinels = nemesis.topology.sentinels_of(nemesis.topology.shard(shard))
        return nemesis.add_rules(self.name, {"master": master.label,
                                             "sentinels": [s.label for s in sentinels]},
                                 nemesis.block(sentinels, [master]))


@register
class IsolateMasterWithClients(_ShardPartition):
    """Old master + a minority of Sentinels on one side, clients still reaching it; the
    replicas and the Sentinel majority on the other: the classic lost-writes case."""

    name = "isolate-master-with-clients"
    words = ("iptables: cut shard {shard}'s master (with clients) off from its replicas and "
             "most Sentinels")

    def inject(self, nemesis, shard):
        master = nemesis.master_of(shard)
        shard_ = nemesis.topology.shard(shard)
        sentinels = list(nemesis.topology.sentinels_of(shard_))
        # The minority: Sentinels on the master's server first (the article layout has them).
        sentinels.sort(key=lambda s: s.server != master.server)
        minority = sentinels[: (len(sentinels) - 1) // 2]
        side_a = [master, *minority]
        side_b = [i for i in shard_.instances if i != master] + sentinels[len(minority):]
        return nemesis.add_rules(
            self.name,
            {"master": master.label, "with_master": [p.label for p in side_a],
             "other_side": [p.label for p in side_b]},
            nemesis.block(side_a, side_b) + nemesis.block(side_b, side_a),
        )


@register
class CutReplication(_ShardPartition):
    """Cut the shard's replicas off from its master and back, with TCP resets: their
    links go down at once (a silent drop would wait for ``repl-timeout``, 60 s)."""

    name = "cut-replication"
    searched = False  # the catalogue's stale-replicas scenario
    words = "iptables: reset shard {shard}'s replication links, both ways"

    def inject(self, nemesis, shard):
        master = nemesis.master_of(shard)
        replicas = [i for i in nemesis.topology.shard(shard).instances if i != master]
        return nemesis.add_rules(
            self.name, {"master": master.label, "replicas": [r.label for r in replicas]},
            nemesis.block(replicas, [master], reset=True)
            + nemesis.block([master], replicas, reset=True))


@register
class IsolateServer(Fault):
    """Cut a machine off from the other machines (clients on the host still reach it)."""

    name = "isolate-server"
    family = "network"
    params = (SERVER,)
    words = "iptables: cut {server} off from the other servers"

    def inject(self, nemesis, server):
        others = [s.address for s in nemesis.topology.servers if s.name != server]
        rules = []
        for address in others:
            rules.append((server, "INPUT", f"-s {address} -j DROP"))
            rules.append((server, "OUTPUT", f"-d {address} -j DROP"))
        return nemesis.add_rules(self.name, {"server": server, "cut_from": others}, rules)


@register
class PacketLoss(Fault):
    """Drop a share of the lab traffic a machine receives (iptables statistic)."""

    name = "packet-loss"
    family = "network"
    params = (SERVER, Param("percent", "int", 30, low=1, high=100))
    words = "iptables: drop {percent} % of the lab traffic {server} receives"

    def inject(self, nemesis, server, percent):
        rule = (f"-s {nemesis.network} -p tcp ! --dport 22 -m statistic --mode random "
                f"--probability {percent / 100:.2f} -j DROP")
        return nemesis.add_rules(self.name, {"server": server, "percent": percent},
                                 [(server, "INPUT", rule)])


@register
class Latency(Fault):
    """Delay a machine's lab traffic with netem, where the kernel has it."""

    name = "latency"
    family = "network"
    params = (SERVER, Param("ms", "int", 200, low=1, high=10_000))
    words = "netem: delay {server}'s lab traffic by {ms} ms"

    def inject(self, nemesis, server, ms):
        machine = nemesis.machines[server]
        address = nemesis.topology.server(server).address
        iface = machine.run(f"ip -o addr show to {address} | awk '{{print $2}}'").strip()
        if not iface:
            raise FaultSkipped(f"no interface carries {address} on {server}")
        applied = Applied(self.name, {"server": server, "ms": ms, "interface": iface},
                          [(server, f"tc qdisc del dev {iface} root")])
        if not machine.ok(f"tc qdisc add dev {iface} root netem delay {ms}ms"):
            raise FaultSkipped("kernel lacks netem (tc qdisc ... netem failed)")
        return applied

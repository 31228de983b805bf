"""Faults on the file a Sentinel keeps its state in: made read-only, replaced by a
fresh one naming another master, or filled with lines it refuses to start from.
Sentinel rewrites its config file with everything it learns (the master after a
failover, the epochs, the replicas and the other Sentinels), and starts again from it:
what the file says is what a restarted Sentinel believes.

Each Sentinel of the lab runs from its own copy of the rendered config, in its data
directory on the machine (``lab-entrypoint.sh``). What a fault changes there is put back
by its undo, written to the machine's pending-undo file first (:mod:`lab.leftovers`).
"""

from __future__ import annotations

import shlex
import time

from lab.at_once import each_at_once
from lab.chaos.faults.applied import CONTAINER_RUNNING
from lab.chaos.faults.base import Applied, Fault, FaultSkipped, Param, register
from lab.chaos.faults.resources import read_master
from lab.chaos.faults.settings import config_change
from lab.probe import client
from lab.render import REMOTE_ROOT

# What Sentinel learns about a master and writes under its name: forgotten by a fresh
# file ("known-slave" is the name before Redis 5).
LEARNED = ("known-replica", "known-slave", "known-sentinel", "config-epoch", "leader-epoch")


def conf_of(sentinel) -> tuple[str, str]:
    """(data directory, config file) of ``sentinel`` on its machine."""
    data = f"{REMOTE_ROOT}/data/{sentinel.service}"
    return data, f"{data}/{sentinel.service}.conf"


@register
class SentinelConfReadOnly(Fault):
    """The config file every Sentinel of the shard runs from, and its directory, made
    read-only (as a read-only mount is): Sentinel keeps what it learns (a failover, a new
    epoch) in memory only, and refuses to start again ("Sentinel config file ... is not
    writable. Exiting...") until the file is writable (redis/redis#12544)."""

    name = "sentinel-conf-readonly"
    family = "resources"
    params = (Param("shard", "shard", 1),)
    touches = "shard"
    searched = False  # it sets the stage for a failover and a restart (a catalogue story)
    sets_stage = True
    words = "make the config file of every Sentinel of shard {shard} read-only"

    def inject(self, nemesis, shard):
        if nemesis.adopted:
            raise FaultSkipped("adopt mode: the deployment's files are its own")
        sentinels = nemesis.topology.sentinels_of(nemesis.topology.shard(shard))
        applied = Applied(self.name, {"sentinels": [s.label for s in sentinels]})
        for sentinel in sentinels:
            # Each runs from its own copy (lab-entrypoint.sh); Redis 7 rewrites it through
            # a temporary file in the same directory, so the directory counts too.
            files = " ".join(conf_of(sentinel))
            nemesis.remember_undo(applied, sentinel.server.name, f"chmod u+w {files}")
            nemesis.machines[sentinel.server.name].run(f"chmod a-w {files}")
        return applied


@register
class SentinelsDisagree(Fault):
    """Every Sentinel of the shard restarted at once from a fresh file (no epoch, no
    known replicas or Sentinels: what a config management tool renders), the files
    naming different instances as the shard's master (redis/redis#13658 and
    valkey-io/valkey#1322: Sentinels started with different initial masters).
    ``stray = "all"``: the first Sentinel names the master, each other one another
    instance; ``"one"``: only the last names a replica. The heal restarts them from
    the files they had."""

    name = "sentinels-disagree"
    family = "resources"
    params = (Param("shard", "shard", 1),
              Param("stray", "choice", "all", choices=("all", "one")))
    touches = "shard"
    searched = False  # it sets the stage for a failure the Sentinels must agree on
    sets_stage = True
    words = "restart shard {shard}'s Sentinels from fresh files naming different masters " \
            "({stray} stray)"

    def inject(self, nemesis, shard, stray):
        if nemesis.adopted:
            raise FaultSkipped("adopt mode: the deployment's files are its own")
        shard_ = nemesis.topology.shard(shard)
        sentinels = nemesis.topology.sentinels_of(shard_)
        master = nemesis.master_of(shard)
        replicas = [i for i in shard_.instances if i != master]
        if stray == "all":
            named = [[master, *replicas][k % len(shard_.instances)]
                     for k in range(len(sentinels))]
        else:
            named = [master] * (len(sentinels) - 1) + [replicas[0]]
        applied = Applied(self.name, {"master": master.label, "named": {
            s.label: i.label for s, i in zip(sentinels, named, strict=True)}})
        containers = {}
        for sentinel in sentinels:
            server = sentinel.server.name
            cid = containers[sentinel] = nemesis.container(server, sentinel.service)
            _, conf = conf_of(sentinel)
            # What it knows written to its file first: a save that failed earlier (a
            # read-only file, since writable again) is not retried until the next change,
            # and the heal restores this file.
            nemesis.need_redis_cli(server)
            nemesis.run_ok(server, nemesis.redis_cli(sentinel.address, "SENTINEL",
                                                     "FLUSHCONFIG", auth=False))
            # Started again from the file it had: what it learned since the fault is lost
            # with the fresh one, as a real restore from a backup would lose it.
            nemesis.remember_undo(applied, server,
                                  f"docker stop -t 1 {cid} >/dev/null; "
                                  f"[ -f {conf}.lab-before ] && mv {conf}.lab-before {conf}; "
                                  f"docker start {cid} >/dev/null")
            applied.ready.append((server, CONTAINER_RUNNING.format(cid=cid)))
        # Stopped together, so that none tells a restarted one what it knew.
        each_at_once(lambda s: nemesis.machines[s.server.name].run(
            f"docker stop -t 1 {containers[s]} >/dev/null"), sentinels)
        for sentinel, instance in zip(sentinels, named, strict=True):
            _, conf = conf_of(sentinel)
            nemesis.machines[sentinel.server.name].run(
                f"cp -p {conf} {conf}.lab-before && "
                f"{fresh_monitor(conf, shard_.monitor_name, instance)}")
        applied.at = time.time()
        each_at_once(lambda s: nemesis.machines[s.server.name].run(
            f"docker start {containers[s]} >/dev/null"), sentinels)
        return applied


def fresh_monitor(conf: str, monitor: str, instance) -> str:
    """A shell line making ``conf`` monitor ``monitor`` at ``instance`` as a fresh file
    would: what the Sentinel learned about it deleted, its quorum kept, the instance
    named as the file named the master before (a host name, or an address)."""
    forget = " ".join(f"-e '/^sentinel {word} {monitor} /d'" for word in LEARNED)
    server = instance.server
    return (f"old=$(awk '$1 == \"sentinel\" && $2 == \"monitor\" && $3 == \"{monitor}\" "
            f"{{ print $4; exit }}' {conf}) && "
            f"case $old in *[!0-9.]*) host={shlex.quote(server.name)} ;; "
            f"*) host={server.address} ;; esac && "
            f"sed -i {forget} -e \"s/^sentinel monitor {monitor} [^ ]* [0-9]* /"
            f"sentinel monitor {monitor} $host {instance.port} /\" {conf}")


@register
class ReplicasAnnounceMaster(Fault):
    """The shard's replicas announce the master's own address (``replica-announce-ip``
    and ``-port`` copied from the master's config, as a template rendering one config for
    every instance does): the first by its number, the second by its name. The master
    lists them so; Sentinel takes its master for one of its own replicas, writes each
    alias into its file as the same ``known-replica`` line, which a restarted Sentinel
    refuses ("Duplicate hostname and port for replica": valkey-io/valkey#4530, where
    Sentinel announces host names), and, 8 s after learning it, makes the master a
    replica of itself (``+convert-to-slave``): the shard has no master.

    The heal puts the announcements back, removes those lines from every Sentinel's file
    and starts again a Sentinel that could not start, makes every Sentinel forget the
    shard's replicas (``SENTINEL RESET``) and learn them again, then makes a master that
    replicates itself a master again."""

    name = "replicas-announce-master"
    family = "settings"
    params = (Param("shard", "shard", 1),)
    touches = "shard"
    searched = False  # it sets the stage for a Sentinel restart (a catalogue story)
    sets_stage = True
    words = "shard {shard}'s replicas announce its master's address (by number and by name)"

    def inject(self, nemesis, shard):
        if nemesis.adopted:
            raise FaultSkipped("adopt mode: the deployment's settings are its own")
        shard_ = nemesis.topology.shard(shard)
        master = nemesis.master_of(shard)
        replicas = [i for i in shard_.instances if i != master]
        sentinels = nemesis.topology.sentinels_of(shard_)
        forms = (master.server.address, master.server.name)
        # Two replicas take the two forms; a third, if a layout has one, keeps its own.
        announcing = list(zip(replicas, forms, strict=False))
        applied = Applied(self.name, {"master": master.label, "announced": {
            r.label: f"{form}:{master.port}" for r, form in announcing}})
        # Undone last to first: announcements put back, files cleaned (a Sentinel that
        # could not start, started), the replicas forgotten and learned again, and only
        # then the master a master again: a Sentinel that still knew it as a replica
        # would convert it again within its next 10 s.
        nemesis.need_redis_cli(master.server.name)
        nemesis.remember_undo(applied, master.server.name, unless_replicating_itself(
            nemesis, master, forms))
        for sentinel in sentinels:
            nemesis.remember_undo(applied, sentinel.server.name, nemesis.redis_cli(
                sentinel.address, "SENTINEL", "RESET", shard_.monitor_name, auth=False))
        for sentinel in sentinels:
            server = sentinel.server.name
            cid = nemesis.container(server, sentinel.service)
            _, conf = conf_of(sentinel)
            lines = "\\|".join(forms)
            nemesis.remember_undo(applied, server, (
                f"sed -i '/^sentinel known-replica {shard_.monitor_name} \\({lines}\\) "
                f"{master.port}$/d' {conf}; [ \"$(docker inspect -f '{{{{.State.Status}}}}' "
                f"{cid})\" = running ] || docker restart -t 1 {cid} >/dev/null"))
            applied.ready.append((server, CONTAINER_RUNNING.format(cid=cid)))
        for replica, form in announcing:
            server = replica.server.name
            with client(*replica.address, nemesis.access, timeout=5) as r:
                was = r.config_get("replica-announce-*")
            reconnect = nemesis.redis_cli(replica.address, "CLIENT", "KILL", "TYPE", "master")
            _, change, undo = config_change(
                nemesis, replica,
                ("replica-announce-ip", form, "replica-announce-port", master.port),
                ("replica-announce-ip", was["replica-announce-ip"],
                 "replica-announce-port", was["replica-announce-port"]))
            nemesis.remember_undo(applied, server, f"{undo} && {reconnect} >/dev/null")
            nemesis.need_redis_cli(server)
            nemesis.run_ok(server, change)
            # A replica announces itself when it connects: it reconnects at once.
            nemesis.machines[server].run(f"{reconnect} >/dev/null")
        return applied


def unless_replicating_itself(nemesis, master, forms: tuple[str, str]) -> str:
    """A shell line making ``master`` a master again (``REPLICAOF NO ONE``) if, and only
    if, it replicates its own address (under either of ``forms``): a Sentinel made it so.
    A master another failover demoted is left to Sentinel."""
    return (f"{read_master(nemesis, master)} && "
            f"{{ [ \"$port\" != {master.port} ] || "
            f"{{ [ \"$host\" != {forms[0]} ] && [ \"$host\" != {shlex.quote(forms[1])} ]; }} || "
            f"{{ {nemesis.redis_cli(master.address, 'REPLICAOF', 'NO', 'ONE')}; }} "
            ">/dev/null; }")

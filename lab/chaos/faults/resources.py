"""Faults on what a process runs with rather than on the process: the buffer a master
keeps for each replica, a Sentinel's clock, a master's disk, its fsync and its memory
limit (the file a Sentinel keeps its state in: :mod:`~lab.chaos.faults.sentinel_files`).
Grey failures: nothing crashes (or the kernel does the killing), and yet the lab
degrades. Each runs on the lab's own machines and puts back what it changed (written to
the machine's pending-undo file first, :mod:`lab.leftovers`).
"""

from __future__ import annotations

import functools
import shlex
import time

from lab.chaos.faults.applied import CONTAINER_RUNNING
from lab.chaos.faults.base import Applied, Fault, FaultSkipped, Param, register
from lab.chaos.faults.settings import config_change
from lab.probe import client
from lab.render import REMOTE_ROOT

# The longest a background writer a fault starts may run, whatever happens to the
# controller: a heal stops it sooner.
WRITER_BOUND_S = 600

# The lab's own big values, KEYS[1]:0 .. KEYS[1]:(ARGV[1] - 1), each ARGV[2]; KEYS[1]
# counts the writes. Scripts, so that one redis-cli call writes or deletes them all.
FILL = ("for i = 0, tonumber(ARGV[1]) - 1 do redis.call('SET', KEYS[1] .. ':' .. i, ARGV[2]) "
        "end return ARGV[1]")
OVERWRITE = ("local n = redis.call('INCR', KEYS[1]) % tonumber(ARGV[1]) "
             "redis.call('SET', KEYS[1] .. ':' .. n, ARGV[2]) return n")
# The same, but written over in place (SETRANGE): no value is freed and allocated again,
# so a fork's child and its parent stop sharing every page it touches (copy-on-write).
REWRITE = ("local n = redis.call('INCR', KEYS[1]) % tonumber(ARGV[1]) "
           "redis.call('SETRANGE', KEYS[1] .. ':' .. n, 0, ARGV[2]) return n")
DELETE = ("for i = 0, tonumber(ARGV[1]) - 1 do redis.call('DEL', KEYS[1] .. ':' .. i) end "
          "return redis.call('DEL', KEYS[1])")


class BigValues:
    """The lab's own large values on a master, for the faults that need a big dataset or
    heavy writes: ``keys`` values of ``value_kb`` KB under the key ``lab:<name>:<fault
    id>:<n>``, written at once (:meth:`burst`) and overwritten by a bounded background
    writer (:meth:`overwrite`). Its undo (the writer stopped, the values deleted) is
    written down when it is made, before anything is written."""

    def __init__(self, nemesis, applied: Applied, master, name: str, keys: int,
                 value_kb: int) -> None:
        self.nemesis, self.master, self.keys = nemesis, master, keys
        self.machine = nemesis.machines[master.server.name]
        self.key = f"lab:{name}:{applied.id}"
        self.value = f"head -c {value_kb * 1024} /dev/zero | tr '\\0' x"
        # The writer is found by its key on its command line ("[p]": not the undo's own).
        found = f"'{self.key[:-1]}[{self.key[-1]}]'"
        nemesis.remember_undo(applied, master.server.name, f"pkill -f {found}; " + self._cli(
            "EVAL", DELETE, 1, self.key, keys) + " >/dev/null")

    def _cli(self, *args) -> str:
        return self.nemesis.redis_cli(self.master.address, *args)

    def burst(self) -> None:
        """Write every value at once (read once from standard input)."""
        fill = self._cli("-x", "EVAL", FILL, 1, self.key, self.keys)
        self.machine.run(f"{self.value} | {{ {fill}; }} >/dev/null")

    def overwrite(self, rate: int, script: str = OVERWRITE) -> None:
        """Overwrite them one after another (``script``: :data:`OVERWRITE`, or
        :data:`REWRITE` in place), ``rate`` a second, in the background, for at most
        :data:`WRITER_BOUND_S` whatever happens to the controller."""
        writer = self._cli("-x", "-r", rate * WRITER_BOUND_S, "-i", f"{1 / rate:.4f}",
                           "EVAL", script, 1, self.key, self.keys)
        loop = shlex.quote(f"{self.value} | {{ {writer}; }}")
        self.machine.run(f"nohup timeout {WRITER_BOUND_S} sh -c {loop} "
                         "</dev/null >/dev/null 2>&1 &")


@register
class ReplicaBufferLoop(Fault):
    """A small ``client-output-buffer-limit replica`` on the shard's master while large
    values are written to it: the master drops a replica whose buffer overflows, the
    replica asks to resync, and what is written while the whole dataset is sent
    overflows the buffer again (redis/redis#11534, #11667, #2315).

    On the master's machine: ``keys`` values of ``value_kb`` KB written at once (a burst
    the replicas' buffers cannot hold: the first drop), then overwritten one after another
    ``rate`` times a second by a bounded ``redis-cli -r`` (the writes that keep the loop
    going); the lab's own keys, deleted on heal."""

    name = "replica-buffer-loop"
    family = "resources"
    params = (Param("shard", "shard", 1),
              Param("limit_kb", "int", 256, low=16, high=1 << 20, search=(64, 256, 4096)),
              # The search's bursts stay small (at most 6.4 MB): enough to overflow the
              # limits it draws, light on the CI machine.
              Param("value_kb", "int", 64, low=1, high=1024, search=(16, 64)),
              Param("keys", "int", 1000, low=1, high=10000, search=(100,)),
              Param("rate", "int", 200, low=1, high=1000, search=(50, 200)))
    touches = "master"
    words = ("client-output-buffer-limit replica {limit_kb}kb on shard {shard}'s master, "
             "{keys} values of {value_kb} KB written to it, then {rate} a second")

    def inject(self, nemesis, shard, limit_kb, value_kb, keys, rate):
        if nemesis.adopted:
            raise FaultSkipped("adopt mode: the deployment's settings and data are its own")
        master = nemesis.master_of(shard)
        server = master.server.name
        nemesis.need_redis_cli(server)
        with client(*master.address, nemesis.access, timeout=5) as r:
            was = r.config_get("client-output-buffer-limit")["client-output-buffer-limit"]
        applied = Applied(self.name, {"master": master.label, "server": server,
                                      "limit_kb": limit_kb, "value_kb": value_kb,
                                      "keys": keys, "rate": rate})
        values = BigValues(nemesis, applied, master, "buffer-loop", keys, value_kb)
        _, change, undo = config_change(
            nemesis, master, ("client-output-buffer-limit",
                              f"replica {limit_kb}kb {max(limit_kb // 2, 1)}kb 1"),
            ("client-output-buffer-limit", f"replica {replica_limit(was)}"))
        nemesis.remember_undo(applied, server, undo)
        nemesis.run_ok(server, change)
        applied.at = time.time()
        values.burst()
        values.overwrite(rate)
        return applied


# Where a Sentinel's clock offset is read from: every lab Sentinel runs with the lab's
# clock shim preloaded (provision/node-image/lab-clock.c, lab-entrypoint.sh), which reads
# this file of its data directory at most once a second; "+0" is the real time.
CLOCK_OFFSET_FILE = "clock-offset"


@register
class ClockJump(Fault):
    """The wall clock of the shard's first Sentinel steps ``seconds`` (forwards or back),
    for that process only (the lab's clock shim; never the host's clock), as an NTP step
    or a VM resumed from a snapshot does; the heal steps it back. Sentinel enters TILT
    when its timer sees time go back or leap more than 2 s, and acts on nothing for 30 s
    (redis/redis#10547, the TILT documentation)."""

    name = "clock-jump"
    family = "resources"
    params = (Param("shard", "shard", 1),
              Param("seconds", "int", 60, low=-86400, high=86400, search=(-60, 60, 600)))
    touches = "shard"
    sets_stage = True  # a failover is timed from what follows it (a stopped master)
    words = "step the clock of shard {shard}'s first Sentinel by {seconds} s, then back"

    def inject(self, nemesis, shard, seconds):
        if nemesis.adopted:
            raise FaultSkipped("adopt mode: the deployment's processes do not run with the "
                               "lab's clock shim")
        sentinel = nemesis.topology.sentinels_of(nemesis.topology.shard(shard))[0]
        server, machine = sentinel.server.name, nemesis.machines[sentinel.server.name]
        need_shim(nemesis, sentinel, "lab-clock", "clock")
        offset = f"{REMOTE_ROOT}/data/{sentinel.service}/{CLOCK_OFFSET_FILE}"
        applied = Applied(self.name, {"sentinel": sentinel.label, "seconds": seconds})
        nemesis.remember_undo(applied, server, f"echo +0 > {offset}")
        applied.at = time.time()
        machine.run(f"echo {seconds:+d} > {offset}")
        return applied


# The file that fills a data disk: root's, so the instance cannot remove it.
DISK_FILLER = "lab-disk-full"


@register
class DiskFull(Fault):
    """The data disk of the shard's master filled up (all but ``free_kb``) while writes
    continue. A master that cannot persist (an AOF write or an RDB save failing) refuses
    writes and PING with MISCONF, which Sentinel does not count as alive: a full disk
    should fail it over, and the demoted master, its disk still full, cannot load a full
    sync from disk (redis/redis#12012, OpenAtomFoundation/pikiwidb#1010). The next RDB
    save point is brought forward (BGSAVE) so that an RDB lab meets its full disk now.

    With ``[redis] data_disk_mb`` (each data directory a filesystem of its own: the lab
    never fills the machine's disk, the host's) the disk is filled; without, the data
    directory is made unwritable instead (``how = "unwritable"``, as a disk remounted
    read-only after errors makes it for new files): an RDB save cannot create its file,
    while an AOF already open is still written. The heal removes the filler, or makes
    the directory writable, and saves again where a save had failed."""

    name = "disk-full"
    family = "resources"
    params = (Param("shard", "shard", 1),
              Param("free_kb", "int", 0, low=0, high=1 << 22))
    touches = "master"
    searched = False  # what it shows depends on lab settings (persistence, data disks)
    words = "fill the data disk of shard {shard}'s master, leaving {free_kb} KB free " \
            "(no disk of its own: make its data directory unwritable)"

    def inject(self, nemesis, shard, free_kb):
        if nemesis.adopted:
            raise FaultSkipped("adopt mode: the deployment's disks are its own")
        master = nemesis.master_of(shard)
        server, machine = master.server.name, nemesis.machines[master.server.name]
        data = f"{REMOTE_ROOT}/data/{master.service}"
        full = machine.ok(f"mountpoint -q {data}")
        nemesis.need_redis_cli(server)
        cli = functools.partial(nemesis.redis_cli, master.address)
        filler = f"{data}/{DISK_FILLER}"
        applied = Applied(self.name, {"master": master.label, "server": server,
                                      "free_kb": free_kb,
                                      "how": "full" if full else "unwritable"})
        # Saved again where a save failed: RDB's error stays until a save succeeds (an
        # AOF write error clears with the next write that fits).
        put_back = f"rm -f {filler}" if full else f"chmod u+w {data}"
        nemesis.remember_undo(applied, server, (
            f"{put_back}; if {cli('INFO', 'persistence')} | "
            f"grep -q '^rdb_last_bgsave_status:err'; then {cli('BGSAVE')} >/dev/null; fi"))
        applied.ready.append((server, f"[ \"$({cli('PING')})\" = PONG ]"))
        applied.at = time.time()
        if full:
            avail = f"$(df --output=avail -k {data} | tail -n1)"
            machine.run(f"fallocate -l $(( ({avail} - {free_kb}) * 1024 )) {filler} && "
                        f"[ {avail} -le {free_kb} ]")
        else:  # the instance is not root (its own uid): a mode it must obey
            machine.run(f"chmod a-w {data}")
        machine.run(f"[ -z \"$({cli('CONFIG', 'GET', 'save')} | sed -n 2p)\" ] || "
                    f"{{ {cli('BGSAVE')} >/dev/null; }}")
        return applied


# Where an instance's fsync delay is read from: every lab Redis instance runs with the
# lab's fsync shim preloaded (provision/node-image/lab-fsync.c, lab-entrypoint.sh), which
# reads this file of its data directory at most once a second; "0" is none.
FSYNC_DELAY_FILE = "fsync-delay-ms"


@register
class SlowFsync(Fault):
    """Every fsync of the shard's master takes ``ms`` longer (the lab's fsync shim: that
    process only), as on a disk too busy to make writes durable, while writes continue
    (redis/redis#10287). With ``appendfsync always`` (``fsync = "always"``, set for the
    fault and put back) each write waits for its fsync in the main thread, PING with it;
    with ``everysec`` (the lab's) a background thread waits, and Redis writes on without
    it after 2 s (INFO ``aof_delayed_fsync``). Without AOF nothing calls fsync."""

    name = "slow-fsync"
    family = "resources"
    params = (Param("shard", "shard", 1),
              Param("ms", "int", 3000, low=1, high=60000),
              Param("fsync", "choice", "always", choices=("always", "everysec")))
    touches = "master"
    searched = False  # it needs AOF, a lab setting: without it nothing calls fsync
    words = "make every fsync of shard {shard}'s master {ms} ms slower (appendfsync {fsync})"

    def inject(self, nemesis, shard, ms, fsync):
        if nemesis.adopted:
            raise FaultSkipped("adopt mode: the deployment's processes do not run with the "
                               "lab's fsync shim")
        master = nemesis.master_of(shard)
        server, machine = master.server.name, nemesis.machines[master.server.name]
        need_shim(nemesis, master, "lab-fsync", "fsync")
        applied = Applied(self.name, {"master": master.label, "server": server, "ms": ms,
                                      "fsync": fsync})
        if fsync == "always":
            nemesis.need_redis_cli(server)
            _, change, undo = config_change(nemesis, master, ("appendfsync", "always"),
                                            ("appendfsync", "everysec"))
            nemesis.remember_undo(applied, server, undo)
            nemesis.run_ok(server, change)
        # Undone first (a heal runs undos last to first): the policy is put back on a
        # disk already fast again.
        delay = f"{REMOTE_ROOT}/data/{master.service}/{FSYNC_DELAY_FILE}"
        nemesis.remember_undo(applied, server, f"echo 0 > {delay}")
        applied.at = time.time()
        machine.run(f"echo {ms} > {delay}")
        return applied


@register
class MemoryLimit(Fault):
    """A memory limit on the shard's master's container (its cgroup) just ``headroom_mb``
    above what the container holds, then a full sync of its replicas while large values
    are rewritten in place: the sync forks, every page the parent writes meanwhile is copied
    (copy-on-write), and past the limit the kernel's OOM killer kills the master or its
    child (redis/redis#7717, #4816).

    On the master's machine: ``keys`` values of ``value_kb`` KB written at once (the
    dataset), the allocator's leftovers returned (``MEMORY PURGE``), the limit set from
    what the container's cgroup holds then, the values rewritten in place ``rate`` times
    a second; then each replica made to ask for a full sync (:func:`full_sync`). The heal
    raises the limit to the machine's memory (Docker cannot remove one) and deletes the
    values."""

    name = "memory-limit"
    family = "resources"
    params = (Param("shard", "shard", 1),
              Param("headroom_mb", "int", 1, low=1, high=4096),
              Param("value_kb", "int", 64, low=1, high=1024),
              Param("keys", "int", 4000, low=1, high=10000),
              Param("rate", "int", 1000, low=1, high=1000))
    touches = "master"
    searched = False  # a catalogue story: its effect depends on the engine's fork
    words = ("write {keys} values of {value_kb} KB to shard {shard}'s master, limit it to "
             "its memory + {headroom_mb} MB, rewrite them {rate} a second, resync its "
             "replicas in full")

    def inject(self, nemesis, shard, headroom_mb, value_kb, keys, rate):
        if nemesis.adopted:
            raise FaultSkipped("adopt mode: the deployment's containers and data are its "
                               "own")
        master = nemesis.master_of(shard)
        server = master.server.name
        machine = nemesis.machines[server]
        nemesis.need_redis_cli(server)
        cid = nemesis.container(server, master.service)
        applied = Applied(self.name, {"master": master.label, "server": server,
                                      "headroom_mb": headroom_mb, "value_kb": value_kb,
                                      "keys": keys, "rate": rate})
        # An OOM-killed master is restarted by its restart policy: a heal waits for it.
        applied.ready.append((server, CONTAINER_RUNNING.format(cid=cid)))
        values = BigValues(nemesis, applied, master, "memory-limit", keys, value_kb)
        # Raised, not removed (Docker cannot remove a limit), to the machine's memory:
        # swap first (cgroup v1 refuses a memory limit above the swap limit, and
        # "--memory-swap -1" leaves it as it was).
        nemesis.remember_undo(applied, server, (
            "big=$(( $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) * 1024 )) && "
            f"docker update --memory $(docker inspect -f '{{{{.HostConfig.Memory}}}}' {cid}) "
            f"--memory-swap $big {cid} >/dev/null && "
            f"docker update --memory $big --memory-swap $big {cid} >/dev/null"))
        values.burst()
        # What the burst left to the allocator (its script's copies) returned first, or
        # the limit would be set from memory the master no longer holds.
        machine.run(nemesis.redis_cli(master.address, "MEMORY", "PURGE") + " >/dev/null "
                    "&& sleep 1")
        applied.at = time.time()
        machine.run(f"limit=$(( {cgroup_memory(cid)} + {headroom_mb << 20} )) && "
                    f"docker update --memory $limit --memory-swap $limit {cid} >/dev/null")
        values.overwrite(rate, REWRITE)
        for replica in nemesis.topology.shard(shard).instances:
            if replica != master:
                full_sync(nemesis, replica)
        return applied


@register
class MaxmemoryEvict(Fault):
    """``maxmemory`` on every instance of the shard just ``headroom_mb`` above what its
    master holds, with an eviction ``policy``, then large values written to the master:
    it evicts, and each eviction reaches its replicas as a deletion. With ``replicas =
    "evict"`` (``replica-ignore-maxmemory no``, the rule before Redis 5) the replicas
    evict on their own too, keys their master keeps: their datasets diverge. With
    ``"ignore"`` (every engine's default) they follow the master. The heal puts the
    settings back, deletes the values and resyncs each replica in full, which repairs a
    divergence (redis/redis#7717 and #4816 on memory; the replication documentation,
    "Maxmemory on replicas")."""

    name = "maxmemory-evict"
    family = "resources"
    params = (Param("shard", "shard", 1),
              Param("headroom_mb", "int", 8, low=1, high=4096),
              Param("policy", "choice", "allkeys-lru",
                    choices=("allkeys-lru", "allkeys-lfu", "allkeys-random")),
              Param("replicas", "choice", "evict", choices=("evict", "ignore")),
              Param("value_kb", "int", 16, low=1, high=1024),
              Param("keys", "int", 2000, low=1, high=10000))
    touches = "shard"
    searched = False  # a catalogue story: it needs the replicas' setting it names
    words = ("maxmemory = shard {shard}'s master's memory + {headroom_mb} MB on its "
             "instances ({policy}, replicas {replicas}), then {keys} values of "
             "{value_kb} KB written")

    def inject(self, nemesis, shard, headroom_mb, policy, replicas, value_kb, keys):
        if nemesis.adopted:
            raise FaultSkipped("adopt mode: the deployment's settings and data are its own")
        master = nemesis.master_of(shard)
        instances = nemesis.topology.shard(shard).instances
        applied = Applied(self.name, {"master": master.label, "headroom_mb": headroom_mb,
                                      "policy": policy, "replicas": replicas,
                                      "value_kb": value_kb, "keys": keys})
        # Undone last to first: the settings put back, the values deleted, then each
        # replica resynced in full from a master no longer evicting.
        for replica in instances:
            if replica != master:
                nemesis.need_redis_cli(replica.server.name)
                nemesis.remember_undo(applied, replica.server.name,
                                      full_sync_command(nemesis, replica))
        values = BigValues(nemesis, applied, master, "maxmemory", keys, value_kb)
        with client(*master.address, nemesis.access, timeout=5) as r:
            limit = int(r.info("memory")["used_memory"]) + (headroom_mb << 20)
        names = ("maxmemory", "maxmemory-policy", "replica-ignore-maxmemory")
        for instance in instances:
            with client(*instance.address, nemesis.access, timeout=5) as r:
                was = [r.config_get(name)[name] for name in names]
            change = (limit, policy, "no" if replicas == "evict" else "yes")
            _, command, undo = config_change(
                nemesis, instance, tuple(x for pair in zip(names, change, strict=True)
                                         for x in pair),
                tuple(x for pair in zip(names, was, strict=True) for x in pair))
            nemesis.remember_undo(applied, instance.server.name, undo)
            nemesis.run_ok(instance.server.name, command)
        applied.at = time.time()
        values.burst()
        return applied


def full_sync(nemesis, replica) -> None:
    """Make ``replica`` ask its master for a full sync: ``REPLICAOF NO ONE`` then
    ``REPLICAOF`` the same master, in one connection, microseconds apart. Promoted, it
    takes a new replication ID, which its master does not know: the partial resync it
    asks for is refused (disconnecting it would not do: a replica reconnects within a
    millisecond and continues from the backlog). An instance that is no longer a replica
    (Sentinel promoted it: the master the fault weighs on was killed meanwhile) is left
    as it is."""
    server = replica.server.name
    nemesis.need_redis_cli(server)
    nemesis.machines[server].run(full_sync_command(nemesis, replica))


def full_sync_command(nemesis, replica) -> str:
    """The shell line of :func:`full_sync`, run on ``replica``'s machine."""
    cli = functools.partial(nemesis.redis_cli, replica.address)
    return (f"{read_master(nemesis, replica)} && "
            f"{{ [ -z \"$host\" ] || printf 'REPLICAOF NO ONE\\nREPLICAOF %s %s\\n' "
            f"\"$host\" \"$port\" | {{ {cli()}; }}; }}")


def read_master(nemesis, instance) -> str:
    """A shell line setting ``$host`` and ``$port`` to the master ``instance``
    replicates, as its INFO names it (an address, or a name with host names); both empty
    when it is a master."""
    field = "awk -F: '$1 == \"master_%s\" { print $2 }' | tr -d '\\r'"
    return (f"info=$({nemesis.redis_cli(instance.address, 'INFO', 'replication')}) && "
            f"host=$(echo \"$info\" | {field % 'host'}) && "
            f"port=$(echo \"$info\" | {field % 'port'})")


def cgroup_memory(cid: str) -> str:
    """A shell expression for the bytes the container's memory cgroup holds now (what a
    limit is checked against: the processes' memory, and files in a tmpfs such as a
    data disk): ``memory.usage_in_bytes`` under cgroup v1, ``memory.current`` under v2."""
    path = (f"$(awk -F: '$2 == \"memory\" || $2 == \"\" {{ print $3; exit }}' "
            f"/proc/$(docker inspect -f '{{{{.State.Pid}}}}' {cid})/cgroup)")
    return (f"$(cat /sys/fs/cgroup/memory{path}/memory.usage_in_bytes 2>/dev/null || "
            f"cat /sys/fs/cgroup{path}/memory.current)")


def need_shim(nemesis, process, shim: str, what: str) -> None:
    """FaultSkipped unless ``process`` (an instance or a Sentinel) runs with the lab's
    ``shim`` preloaded (``lab-clock``: provision/node-image/lab-clock.c)."""
    server = process.server.name
    cid = nemesis.container(server, process.service)
    # (docker exec cannot enter a container on these machines: read its process's map)
    if not nemesis.machines[server].ok(f"grep -q {shim} /proc/$(docker inspect -f "
                                       f"'{{{{.State.Pid}}}}' {cid})/maps"):
        raise FaultSkipped(f"{process.label} does not run with the lab's {what} shim (its "
                           "image was built before the lab had one: lab_up builds it again)")


def replica_limit(limits: str) -> str:
    """The replica class's ``hard soft seconds`` in a ``client-output-buffer-limit``
    value (``normal 0 0 0 slave 268435456 67108864 60 pubsub ...``); the class is named
    ``slave`` or ``replica`` depending on the engine."""
    words = limits.split()
    for i in range(0, len(words) - 3, 4):
        if words[i] in ("slave", "replica"):
            return " ".join(words[i + 1:i + 4])
    raise RuntimeError(f"no replica class in client-output-buffer-limit {limits!r}")

"""What a fault is, and the one registry of them.

A fault is one object in one module (Jepsen's ``db-package``: one package per fault
family that knows how to be scheduled, injected and drawn). It says:

* its ``name``, ``family`` and one-line ``summary`` (the docstring's first line);
* its parameters (:class:`Param`: default, allowed values) and so the Hypothesis strategy
  that draws them from the topology in use;
* :meth:`Fault.inject`, returning an :class:`Applied` that holds exactly the commands that
  undo it;
* ``words`` (the dry-run plan's line, :meth:`Fault.describe`) and :meth:`Fault.hosts`
  (which hosts it would touch, asked read-only).

``--list``, the plan, the Hypothesis rules and the docs' reference all read the registry;
nothing else lists faults. The registry is private; :func:`registered` hands out a copy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from hypothesis import strategies as st

from lab.chaos.faults.applied import Applied, FaultSkipped
from lab.config import Server
from lab.topology import RedisInstance, Topology

if TYPE_CHECKING:  # the hands a fault acts with; faults never build one
    from lab.chaos.nemesis import Nemesis

__all__ = ["Applied", "Fault", "FaultSkipped", "Param", "get", "register", "registered"]

MasterOf = Callable[[int], RedisInstance]


@dataclass(frozen=True)
class Param:
    """One parameter of a fault.

    ``kind``: ``shard`` (1..number of shards), ``server`` (1..number of servers, or a
    server's name), ``choice`` (one of ``choices``) or ``int`` (``low``..``high``).
    ``search``: the values Hypothesis draws (default: every allowed value).
    """

    name: str
    kind: str
    default: Any
    choices: tuple = ()
    low: int = 0
    high: int = 0
    search: tuple = ()

    def check(self, value: Any, topology: Topology) -> Any:
        """The value as the fault uses it; ValueError naming the fix when not allowed."""
        if self.kind == "shard":
            n = len(topology.shards)
            if not isinstance(value, int) or not 1 <= value <= n:
                raise ValueError(f"{self.name}={value!r}: a shard number 1..{n}")
            return value
        if self.kind == "server":
            return topology.server_at(value).name
        if self.kind == "choice":
            if value not in self.choices:
                allowed = ", ".join(map(str, self.choices))
                raise ValueError(f"{self.name}={value!r}: one of {allowed}")
            return value
        if not isinstance(value, int) or not self.low <= value <= self.high:
            raise ValueError(f"{self.name}={value!r}: a whole number {self.low}..{self.high}")
        return value

    def strategy(self, topology: Topology) -> st.SearchStrategy:
        if self.search:
            return st.sampled_from(self.search)
        if self.kind == "shard":
            return st.integers(1, len(topology.shards))
        if self.kind == "server":
            return st.integers(1, len(topology.servers))  # by position: shrinks to 1
        if self.kind == "choice":
            return st.sampled_from(self.choices)
        return st.integers(self.low, self.high)


class Fault(ABC):
    """One fault. Subclasses set the class attributes and implement inject."""

    name: ClassVar[str]
    family: ClassVar[str]  # one of FAMILIES
    params: ClassVar[tuple[Param, ...]] = ()
    # The dry-run plan's words, formatted with the resolved parameters.
    words: ClassVar[str] = ""
    # Which hosts it touches: "server" (its server parameter's), "master" (the shard's
    # current master's) or "shard" (every host of the shard's instances and Sentinels).
    touches: ClassVar[str] = "server"
    # Whether the Hypothesis state machine draws this fault (all do, unless a fault sets
    # False: one that only makes sense in a hand-written scenario).
    searched: ClassVar[bool] = True
    # A setting changed before the fault proper (a narrowed ACL user, a dropped
    # masterauth): the measures' clock (failover, writes resumed) starts at the first
    # fault that does not only set the stage.
    sets_stage: ClassVar[bool] = False

    @property
    def summary(self) -> str:
        """The docstring's first paragraph, on one line."""
        paragraph = (type(self).__doc__ or self.name).strip().split("\n\n")[0]
        return " ".join(line.strip() for line in paragraph.splitlines())

    def resolve(self, given: dict[str, Any], topology: Topology) -> dict[str, Any]:
        """Every parameter, defaults filled in and checked; unknown names refused."""
        known = {p.name for p in self.params}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ValueError(f"fault {self.name} has no parameter {', '.join(unknown)}; "
                             f"its parameters: {', '.join(sorted(known)) or 'none'}")
        return {p.name: p.check(given.get(p.name, p.default), topology) for p in self.params}

    def strategy(self, topology: Topology) -> st.SearchStrategy[dict[str, Any]]:
        """Hypothesis' draw of this fault's parameters on ``topology``."""
        return st.fixed_dictionaries({p.name: p.strategy(topology) for p in self.params})

    @abstractmethod
    def inject(self, nemesis: Nemesis, **params: Any) -> Applied:
        """Break the lab; return exactly what undoes it. ``params`` are resolved."""

    def describe(self, params: dict[str, Any]) -> str:
        """The dry-run plan's words for this fault with resolved ``params``."""
        return self.words.format(**params) if self.words else self.summary

    def hosts(self, topology: Topology, params: dict[str, Any], master_of: MasterOf
              ) -> list[Server]:
        """The hosts it would touch, as ``touches`` says (read-only: ``master_of`` asks
        the Sentinels)."""
        if self.touches == "master":
            return master_host(topology, params["shard"], master_of)
        if self.touches == "shard":
            return servers_of_shard(topology, params["shard"])
        return [topology.server(params["server"])]


_REGISTRY: dict[str, Fault] = {}


def register(cls: type[Fault]) -> type[Fault]:
    """Class decorator: add one instance of ``cls`` to the registry (names are unique)."""
    if cls.name in _REGISTRY:
        other = type(_REGISTRY[cls.name])
        raise ValueError(f"fault {cls.name!r} is registered twice: {other.__module__}."
                         f"{other.__qualname__} and {cls.__module__}.{cls.__qualname__}")
    _REGISTRY[cls.name] = cls()
    return cls


FAMILIES = ("processes", "network", "machines", "settings", "resources")


def registered() -> dict[str, Fault]:
    """Every fault by name, family by family (:data:`FAMILIES`), each in registration
    order; a copy: the registry stays private. Hypothesis shrinks towards the first."""
    def family_rank(item: tuple[str, Fault]) -> int:
        family = item[1].family
        return FAMILIES.index(family) if family in FAMILIES else len(FAMILIES)
    return dict(sorted(_REGISTRY.items(), key=family_rank))


def get(name: str) -> Fault:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(_REGISTRY)}") from None


def servers_of_shard(topology: Topology, shard_number: int) -> list[Server]:
    """Every host a shard's instances and Sentinels run on, in ``[[servers]]`` order."""
    shard = topology.shard(shard_number)
    involved = {i.server for i in shard.instances} | \
        {s.server for s in topology.sentinels_of(shard)}
    return [s for s in topology.servers if s in involved]


def master_host(topology: Topology, shard_number: int, master_of: MasterOf) -> list[Server]:
    """The host of the shard's current master; any of its hosts when none can be named."""
    try:
        return [master_of(shard_number).server]
    except RuntimeError:
        shard = topology.shard(shard_number)
        hosts = {i.server for i in shard.instances}
        return [s for s in topology.servers if s in hosts]

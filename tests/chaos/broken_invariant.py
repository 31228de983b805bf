"""A deliberately false invariant, planted with
``LAB_CHAOS_INVARIANTS=tests.chaos.broken_invariant`` so the tests can watch a failure
being found, shrunk to inject + heal, saved and replayed. The state machine runs it after
every heal, like its own invariants."""


def deliberately_broken(machine) -> None:
    raise AssertionError("(deliberately broken invariant) a fault was healed")


INVARIANTS = [deliberately_broken]

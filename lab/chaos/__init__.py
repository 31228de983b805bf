"""Chaos: break the lab on purpose, record everything, judge afterwards.

The separation follows Jepsen's: the thing that breaks the system never judges it, and
the judge reads only the history.

``faults``     one object per fault, one registry: parameters, inject (returning its
               undo), the plan's words, the hosts it touches, Hypothesis' strategy
``nemesis``    the faults' hands on the machines (containers, tagged rules, restarts)
``workload``   clients writing unique keys through HAProxy and reading them back
``observers``  Sentinel events, instance roles and HAProxy backends, over time
``history``    one timestamped JSONL timeline per scenario
``checkers``   pure functions: history in, measurements out
``scenarios``  named scenarios (``scenarios/*.py``) and their expected outcomes
``judge``      a scenario's verdict from its history alone; re-judging a finished run
``record``     the typed run record (``results.json``)
``runner``     one scenario: settle, record, inject, hold, heal, settle, read back, judge
``campaign``   many scenarios (and Hypothesis) -> ``reports/<run-id>/``, GO / NO-GO
``slo``        the user's SLOs judged on a history's measures
``floor``      the same failover on a native shard on loopback (the bench's floor)
``stateful``   the Hypothesis search: faults, heals and waits, each example judged
               like a scenario, shrunk to the shortest sequence that breaks an SLO
``plan``       the dry run: which fault touches which host
"""

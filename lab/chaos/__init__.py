"""Chaos: break the lab on purpose, record everything, judge afterwards.

The separation follows Jepsen's: the thing that breaks the system never judges it, and
the judge reads only the history.

``nemesis``    faults, each with inject and heal, run over Fabric on the machines
``workload``   clients writing unique keys through HAProxy and reading them back
``observers``  Sentinel events, instance roles and HAProxy backends, over time
``history``    one timestamped JSONL timeline per scenario
``checkers``   pure functions: history in, measurements out
``scenarios``  named scenarios (``scenarios/*.py``) and their expected outcomes
``runner``     one scenario: settle, observe, inject, hold, heal, settle, read back
``campaign``   many scenarios -> ``reports/<run-id>/results.json``
``stateful``   the Hypothesis state machine over faults, heals, waits and bursts
"""

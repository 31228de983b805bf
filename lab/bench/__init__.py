"""``nox -s bench`` (``python -m lab bench``): the lab's speed and behaviour, measured
into ``reports/bench.json``.

Measured on a lab of its own (``rhl-bench`` on 192.168.59.0/24), so a user's lab is left
alone. Each measurement is one module here, registered in :mod:`lab.bench.base` (its
docstring says what it measures); ``--what NAME`` runs one, ``--what all`` every one but
``search``. The record keeps every run with its per-step breakdown, the medians, and the
targets beside them. Targets are reported, not asserted: these machines are noisy.

``base``        the registry, the bench lab, lab_up/lab_down timed, the bench's lines
``record``      ``reports/bench.json`` (BenchRecord, with a schema version)
``command``     the options and one run of the chosen measurements
``numbers``     medians over runs that may lack a number
``lifecycle`` ``load`` ``chaos`` ``hypothesis`` ``workshop`` ``matrix`` ``routes``
``campaign`` ``search`` ``report`` ``checker``: the measurements, in the order ``--what
all`` runs them
"""

from __future__ import annotations

# isort: off
# They register in this order: the order of --what all and of --help.
from lab.bench import lifecycle, load, chaos, hypothesis, workshop  # noqa: F401
from lab.bench import matrix, routes, campaign, search, report, checker  # noqa: F401
# isort: on
from lab.bench.base import MEASUREMENTS, Measurement, say
from lab.bench.command import add_arguments, main, parse, run
from lab.bench.record import SCHEMA, BenchRecord

__all__ = ["MEASUREMENTS", "SCHEMA", "BenchRecord", "Measurement", "add_arguments", "main",
           "parse", "run", "say"]

"""Run folders under ``reports/``, and whether a lab is up to be run against.

Every verb that records something (chaos, replay, load, bench) gets its folder here:
``reports/<run-id>/``, the id ``YYYYmmdd-HHMMSS-<kind>`` unless the caller names one.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from lab.errors import LabError
from lab.paths import REPORTS

__all__ = ["MATRIX", "RESULTS", "new_run_dir", "require_up"]

RESULTS = "results.json"  # a chaos, replay or workshop run's RunRecord
MATRIX = "matrix.json"  # a matrix's MatrixRecord (its runs are folders of their own)
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def new_run_dir(kind: str = "chaos", run_id: str | None = None,
                reports: Path = REPORTS) -> tuple[str, Path]:
    """A new, empty run folder; ``run_id`` must not name an existing run."""
    if run_id is None:
        run_id = time.strftime(f"%Y%m%d-%H%M%S-{kind}", time.gmtime())
    elif not _RUN_ID.match(run_id):
        raise LabError(f"--run-id {run_id!r}: use letters, digits, '.', '_' and '-' "
                       "(at most 100, starting with a letter or digit)")
    run_dir = reports / run_id
    reports.mkdir(parents=True, exist_ok=True)
    try:
        run_dir.mkdir(exist_ok=False)
    except FileExistsError:
        raise LabError(f"run {run_id} exists already under {reports}/; choose another "
                       "--run-id") from None
    return run_id, run_dir


def require_up(lab) -> None:
    """Refuse to run against a lab that ``lab_up`` did not bring up from here."""
    if not lab.paths.applied_config.exists():
        raise LabError(f"lab {lab.config.name} is not up; run `nox -s lab_up` first")

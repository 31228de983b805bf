"""The bench's registry and record: `python -m lab bench --what NAME` runs one
measurement, keeps what earlier runs measured, and writes a versioned record."""

from __future__ import annotations

import argparse
import json

import pytest

from lab import bench
from lab.errors import LabError


def args(tmp_path, what: str, **more) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    namespace = parser.parse_args(["--what", what, "--output", str(tmp_path / "bench.json")])
    vars(namespace).update(more)
    return namespace


def test_a_record_from_before_the_schema_is_read_and_rewritten_with_it(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"lifecycle": {"median_s": {}}, "search": {"x": 1}}))
    record = bench.BenchRecord.read(path)
    assert record.measurements == {"lifecycle": {"median_s": {}}, "search": {"x": 1}}
    record.write(path)
    assert json.loads(path.read_text()) == {"schema": bench.SCHEMA,
                                            "measurements": record.measurements}
    assert bench.BenchRecord.read(path) == record


def test_a_newer_record_is_refused_rather_than_overwritten(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"schema": bench.SCHEMA + 1, "measurements": {}}))
    with pytest.raises(LabError, match="newer than this code's"):
        bench.BenchRecord.read(path)


def test_one_measurement_runs_and_the_others_results_stay(tmp_path, monkeypatch):
    seen = []
    fake = bench.Measurement("fake", "for this test", lambda a, path, previous:
                             seen.append(previous) or {"value": 2}, seen.append)
    monkeypatch.setitem(bench.MEASUREMENTS, "fake", fake)
    bench.BenchRecord({"fake": {"value": 1}, "lifecycle": {"kept": True}}).write(
        tmp_path / "bench.json")
    chosen = args(tmp_path, "report")
    chosen.what = "fake"  # not a choice of the parser: the registry is what runs
    assert bench.run(chosen) == 0
    assert seen == [{"value": 1}, {"value": 2}]  # given the earlier result, then shown
    written = bench.BenchRecord.read(tmp_path / "bench.json").measurements
    assert written == {"fake": {"value": 2}, "lifecycle": {"kept": True}}


def test_all_is_every_measurement_but_the_search():
    assert [m.name for m in bench.MEASUREMENTS.values() if m.in_all] == \
        ["lifecycle", "load", "chaos", "hypothesis", "workshop", "matrix", "routes",
         "campaign", "report", "checker"]


def test_a_repeat_below_one_is_bad_input(tmp_path):
    with pytest.raises(LabError, match="--repeat must be at least 1"):
        bench.run(args(tmp_path, "report", repeat=0))


def test_the_cli_hands_the_bench_its_own_options_and_still_refuses_unknown_ones(capsys):
    from lab.cli import main

    with pytest.raises(SystemExit) as asked_for_help:
        main(["bench", "--help"])
    assert asked_for_help.value.code == 0
    assert "--what {all,lifecycle," in capsys.readouterr().out
    with pytest.raises(SystemExit) as bad:
        main(["bench", "--what", "nope"])
    assert bad.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as unknown:
        main(["status", "--bogus"])  # another verb: an unknown option is still bad input
    assert unknown.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err

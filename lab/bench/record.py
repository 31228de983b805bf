"""``reports/bench.json``: the bench's typed record, with a schema version."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError

__all__ = ["SCHEMA", "BenchRecord"]


SCHEMA = 1  # of reports/bench.json (BenchRecord)


@dataclass
class BenchRecord:
    """``reports/bench.json``: each measurement's result under its name, and the schema
    version. A file from before the schema (the results at its top level) is read as
    schema 1."""

    measurements: dict[str, dict] = field(default_factory=dict)
    schema: int = SCHEMA

    @classmethod
    def read(cls, path: Path) -> BenchRecord:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        if "schema" not in data:
            return cls(dict(data))
        if data["schema"] > SCHEMA:
            raise LabError(f"{path}: bench record schema {data['schema']} is newer than this "
                           f"code's ({SCHEMA}); write to another --output")
        return cls(dict(data["measurements"]), data["schema"])

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"schema": self.schema, "measurements": self.measurements},
                                   indent=2) + "\n")

"""What the last ``gansemble repro`` in this checkout ran, so that ``verify`` can tell a rerun
that reproduced every metric bit for bit (the pinned path on the same kind of CPU) from a
checkout where nothing was rerun: in both the metrics equal the committed ones.

``gansemble repro`` writes the record after ``dvc repro`` succeeds: the commit it ran at, the
stages DVC actually ran (not those it skipped as unchanged or restored from its run cache), and
the sha256 of every file in ``reports/metrics`` as the run left it. The record lives in
``.dvc/tmp/`` (DVC's scratch folder, ignored by git), so a fresh clone has none.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from ..core.io_utils import write_json

RECORD = Path(".dvc") / "tmp" / "gansemble_last_repro.json"
METRICS = Path("reports") / "metrics"
# the stages whose rerun recomputes every number of reports/metrics from the data: every unit's
# training and scoring, and the verdicts across units
RECOMPUTING = ("folds", "evaluate")


def head_commit(root: Path) -> str | None:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def metrics_digests(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / METRICS).glob("*.json"))}


def write_record(root: str | Path, ran: list[str]) -> Path:
    """Record a successful ``dvc repro`` in ``root`` that ran the stages ``ran``."""
    root = Path(root)
    path = root / RECORD
    if not path.parent.is_dir():  # not a DVC project: nothing for verify to read
        return path
    write_json(path, {"commit": head_commit(root), "ran": list(ran),
                      "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                      "metrics_sha256": metrics_digests(root)})
    return path


def reproduced(root: str | Path, ref_commit: str | None) -> str | None:
    """When the last ``gansemble repro`` here recomputed ``reports/metrics`` at ``ref_commit``
    and the files are still the ones it wrote: a line saying so; else None."""
    root = Path(root)
    path = root / RECORD
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not isinstance(record, dict) or ref_commit is None or record.get("commit") != ref_commit
            or not set(RECOMPUTING) <= set(record.get("ran") or [])
            or record.get("metrics_sha256") != metrics_digests(root)):
        return None
    return (f"`gansemble repro` at {record.get('finished_utc')} reran {', '.join(record['ran'])} "
            f"and reproduced every metrics file of {METRICS.as_posix()} bit for bit")

"""Which data a result set is about: the heading and answer column of the dataset whose metrics
are read, and the provenance line (sources, profile, commit, timings) of a ``run-dataset`` set."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from .md_cells import load

DEFAULT_SIMULATED = "Default dataset (simulated, embedded; `make reproduce`)"


MAX_LISTED_SOURCES = 5


def provenance(folder: Path) -> list[str]:
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    if not run["sources"]:  # run-dataset without a source: the embedded default data
        md5 = ((run.get("data_dvc") or {}).get("outs") or [{}])[0].get("md5", "?")
        files = f"the embedded default (simulated) data, `data.dvc` md5 `{md5[:12]}…`"
        run = {**run, "format": "simulated"}
    elif len(run["sources"]) > MAX_LISTED_SOURCES:  # a folder of images: count, not list
        folders = sorted({str(Path(s["path"]).parent.parent) for s in run["sources"]})
        files = (f"{len(run['sources'])} files under " + ", ".join(f"`{f}`" for f in folders)
                 + " (each file's sha256 in run.json)")
    else:
        files = ", ".join(f"`{Path(s['path']).name}` (sha256 `{s['sha256'][:12]}…`)"
                          for s in run["sources"])
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in run["stage_seconds"].items())
    lines = [f"Sources: {files}; format `{run['format']}`; parameters: {run['profile']}; "
             f"commit `{run['commit'][:12]}`.",
             f"Reproduce: `{run['command']}` (results in `reports/datasets/{folder.name}`). "
             f"Whole `dvc repro`: {run['dvc_repro_seconds'] / 60:.1f} min on "
             f"{run['machine']['cpus']} CPU cores"
             + (f" ({stages})." if stages else ".")]
    reused = run.get("stages_unchanged", []) + run.get("stages_restored_from_run_cache", [])
    if reused:
        lines[-1] += (f" Not rerun in that time (unchanged or restored from DVC's run cache): "
                      f"{', '.join(reused)}.")
    earlier = run.get("earlier_stage_seconds") or {}
    if earlier:
        lines[-1] += (" When they last ran: " + ", ".join(
            f"{stage} {entry['seconds'] / 60:.1f} min (commit `{entry['commit'][:12]}`)"
            for stage, entry in earlier.items()) + ".")
    return lines


def origin(metrics_dir: Path) -> tuple[bool | None, dict | None]:
    """Did the simulator make the data behind ``metrics_dir``, and the data's ``dataset.yaml``.

    The metrics decide (stage 06 records whether the data came from the simulator); the
    descriptor, where one is found (``<result set>/dataset.yaml`` beside the metrics folder, or
    ``data/raw/dataset.yaml`` of the project whose ``reports/metrics`` this is), names the data
    and decides only for older metrics that do not say.
    """
    downstream = load(metrics_dir, "06_downstream.json") or {}
    oracle = downstream.get("oracle")
    simulated = oracle.get("simulated") if isinstance(oracle, dict) else None
    descriptor = None
    for path in (metrics_dir.parent / "dataset.yaml",
                 metrics_dir.parent.parent / "data" / "raw" / "dataset.yaml"):
        if path.is_file():
            try:
                meta = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError:
                meta = None
            descriptor = meta if isinstance(meta, dict) else None
            break
    if simulated is None and descriptor is not None and descriptor.get("origin"):
        simulated = descriptor["origin"] == "simulated"
    return (None if simulated is None else bool(simulated)), descriptor


def imported_names(descriptor: dict | None) -> list[str]:
    """The name an import recorded: ``name`` if given, else the source files it copied."""
    if not descriptor or descriptor.get("origin") != "imported":
        return []
    if descriptor.get("name"):
        return [str(descriptor["name"])]
    return [str(f) for f in descriptor.get("files") or []]


def dataset_label(metrics_dir: str | Path = "reports/metrics") -> tuple[str, str]:
    """(section heading, answer column) for the dataset whose metrics are in ``metrics_dir``.

    Only data the simulator made are called the simulated default; imported data carry the
    name their import recorded, and data of unknown origin claim nothing.
    """
    simulated, descriptor = origin(Path(metrics_dir))
    if simulated:
        return DEFAULT_SIMULATED, "default (simulated)"
    if simulated is None:
        return "Default dataset (`make reproduce`)", "default"
    names = imported_names(descriptor)
    if names:
        return (f"Dataset {', '.join(f'`{n}`' for n in names)} (imported with `gansemble "
                "import-data`; `make reproduce`)", f"{' + '.join(names)} (imported)")
    return "Imported dataset (not simulated; `make reproduce`)", "imported"



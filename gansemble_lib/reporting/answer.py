"""The README's answer: verdict counts per method family and dataset, from the metrics."""

from __future__ import annotations

import json
from pathlib import Path

from ..core.applicability import NOT_APPLICABLE
from ..core.errors import DataError
from ..evaluation import rows as row_kinds
from .dataset_origin import dataset_label
from .md_cells import short_design
from .results_md import RESULTS_FILE

# The method families of the answer: rows without a generator, each generator family's rows
# (with and without filters and ordinary augmentation), train-on-synthetic rows. Which family
# a row is in comes from its record (rows.py), written by the run.
FAMILIES = (("no generator (re-weighting, oversampling, augmentation, SMOTE)", row_kinds.BASELINE,
             ()),
            ("GANsemble cGAN (MPcGAN, the paper's) ± filters", None,
             ("mpcgan_aug", "mpcgan_noaug", "mpcgan_faithful")),
            ("MPcGAN + auxiliary classifier (our fix, AC-GAN) ± filters", None, ("mpcgan_ac",)),
            ("MPcGAN + projection discriminator (our fix) ± filters", None, ("mpcgan_proj",)),
            ("modern image cGAN ± filters", None, ("modern_aug", "modern_spec")),
            ("1-D spectrum GAN ± filters", None, ("spectrum",)),
            ("class VAEs ± filters", None, ("vae",)),
            ("train on synthetic only (TSTR)", row_kinds.TSTR, ()))
SHORT = {row_kinds.EQUIVALENT: "equivalent", row_kinds.MISSING: "failed in a fold"}


def _family_rows(result: dict, kind: str | None, generators: tuple[str, ...]) -> list[str]:
    """A family's rows of the image CNN, in the table's order: those of ``kind``, or those
    whose record names one of ``generators`` (with or without ordinary augmentation)."""
    if "row_records" not in result:
        raise DataError("the results carry no row records (written by stage 06 since "
                        "2026-12-04)", path="06_downstream.json",
                        fix="rerun the pipeline on this dataset (`make reproduce`, or "
                            "`gansemble run-dataset` for a dataset under reports/datasets)")
    records = row_kinds.from_json(result["row_records"])
    names = result.get("row_order") or list(result.get("rows", {}))
    if kind is not None:
        return row_kinds.image_rows(records, (kind,), names)
    generated = row_kinds.image_rows(records, (row_kinds.SYNTHETIC, row_kinds.COMBO), names)
    return [n for n in generated if records[n].generator in generators]


def _family_cell(result: dict, rows: list[str]) -> str:
    if result.get("folds", 1) == 1:
        return "one split: no verdict"
    present = [result["rows"][r] for r in rows if r in result["rows"]]
    applicable = [v for v in present if v.get("note") != NOT_APPLICABLE]
    if present and not applicable:
        return NOT_APPLICABLE
    verdicts = [v.get("verdict") or "—" for v in applicable]
    if not verdicts:
        return "—"
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[SHORT.get(v, v)] = counts.get(SHORT.get(v, v), 0) + 1
    cell = ", ".join(f"{k} {n}" for k, n in counts.items())
    failed = [r for r in (result.get("failed_generator_rows") or {}) if r in rows]
    return cell + (f" — **{len(failed)} of {len(verdicts)} rows use a generator that failed "
                   "the gate**" if failed else "")


def _default_data_run(folder: Path) -> bool:
    """A result set of ``run-dataset`` without a source: the embedded default data."""
    record = folder / "run.json"
    return record.is_file() and not json.loads(record.read_text(encoding="utf-8"))["sources"]


def render_answer(metrics_dir: str | Path = "reports/metrics",
                  datasets_dir: str | Path | None = "reports/datasets") -> str:
    """The README's opening answer: verdict counts per method family and dataset."""
    sets = [(dataset_label(metrics_dir)[1], Path(metrics_dir))]
    if datasets_dir and Path(datasets_dir).is_dir():
        sets += [(p.name, p / "metrics") for p in sorted(Path(datasets_dir).iterdir())
                 if (p / "metrics" / "06_downstream.json").is_file()]
    results = [(name, json.loads((d / "06_downstream.json").read_text(encoding="utf-8")))
               for name, d in sets if (d / "06_downstream.json").is_file()]
    if not results:
        return "No results yet: run `make reproduce`."
    # a result set of one split has no verdicts to count (e.g. `paper_cpu`, run for the paper's
    # table): it is named below the table instead of filling a column with "no verdict"
    top = results[0][0]
    one_split = [name for name, r in results[1:] if r.get("folds", 1) == 1]
    results = [(name, r) for name, r in results if name == top or name not in one_split]
    # result sets of the embedded default data at another profile (run-dataset without a
    # source, e.g. `make reproduce-decisive`) come first, each with its planned first look
    default_runs = {name for name, d in sets if _default_data_run(d.parent)}
    shown = []
    for name, r in sorted(results, key=lambda nr: nr[0] not in default_runs):
        if name in default_runs:
            label = f"default (simulated), {r.get('folds')} replicates (`{name}`)"
            shown.append((label, r))
            look = r.get("interim") or {}
            if look.get("rows"):
                shown.append((f"same, first {look['replicates']} replicates", {
                    **r, "rows": look["rows"], "folds": look["replicates"],
                    "spectrum_classifiers": look.get("spectrum_classifiers") or {}}))
        else:
            shown.append((name, r))
    results = shown
    lines = ["Verdicts of each method family against real-only training (rows of stage 06; "
             "macro-F1; Bayesian t-test across independent simulated replicates, each with its "
             "own fresh test set, where the data come from the simulator, and the correlated "
             "t-test across outer folds for real data; ROPE ±"
             f"{results[0][1].get('rope', 0.02)}). *better* would mean synthetic data helped.",
             "", "| method family | " + " | ".join(n for n, _ in results) + " |",
             "| --- |" + " --- |" * len(results)]
    for family, kind, generators in FAMILIES:
        cells = [_family_cell(r, _family_rows(r, kind, generators)) if "folds" in r
                 else "one split (older run): no verdict" for _, r in results]
        if generators and all(c == "—" for c in cells):
            continue  # a generator no result set trained (e.g. one only the full profile has)
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    cells = []
    for _, r in results:  # judged against the same spectrum classifier on real spectra
        family = (r.get("spectrum_classifiers") or {}).get("rows") or {}
        if not family:  # image data have no spectra; older result sets have no such rows
            cells.append(NOT_APPLICABLE if "spectrum_classifiers" in r else "not in this run")
            continue
        judged = {"rows": family, "folds": r.get("folds"),
                  "failed_generator_rows": r.get("failed_generator_rows")}
        cells.append(_family_cell(judged, [n for n, v in family.items()
                                           if v.get("diff_mean") is not None]))
    lines.append("| logistic regression / 1-D CNN on spectra + synthetic spectra (vs the same "
                 "classifier on real spectra) | " + " | ".join(cells) + " |")
    if one_split:
        lines += ["", "Result sets of one split, with no verdicts to count, are not columns: "
                  + ", ".join(f"`{n}`" for n in one_split) + " (their tables: [RESULTS.md]"
                  "(RESULTS.md))."]
    profiled = sorted(default_runs - set(one_split))
    if profiled:
        named = ", ".join(f"`{n}`" for n in profiled)
        lines += ["", f"Columns of the default data named by a profile ({named}) are result "
                  "sets of that profile under `reports/datasets/`, each with its command and "
                  "wall time in [RESULTS.md](RESULTS.md); the `default (simulated)` column is "
                  "the laptop run `make reproduce` repeats and `make verify` checks."]
    designs = "; ".join(
        f"{n}: " + short_design(r)
        + f", real-only macro-F1 {r['rows']['real only']['macro_f1_mean']:.3f}"
        for n, r in results)
    lines += ["", f"Designs and real-only scores: {designs}. The full tables are in "
              f"[{RESULTS_FILE}]({RESULTS_FILE}); the report with every figure is "
              "[reports/report.html](reports/report.html)."]
    return "\n".join(lines)

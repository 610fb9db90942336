"""Statements of ``gansemble verify``: verdicts, chosen strategies, gate status and emptied
filters compared as statements, with their borderline bands (the command is :mod:`.verify`).

**Statements** are compared as statements: each row's verdict, each fold's chosen strategy,
each generator's gate status, which filters kept nothing. A verdict or gate status whose
underlying number sits within a band of its threshold in either run is **borderline**: listed
by name, and a change of it is not a disagreement (see :func:`statements`).

- A verdict comes from the posterior probabilities P(better), P(equivalent), P(worse) of the
  correlated t-test (:mod:`crossval`) against ``decision`` (0.95). Calibrated, the band is how
  far those probabilities move when ``diff_mean`` and ``diff_sd`` move by their tolerances
  (the posterior recomputed, :func:`posterior`); uncalibrated (or when the recorded
  probabilities cannot be recomputed), the declared :data:`.verify_numbers.P_BAND`.
- A gate status (:mod:`gate`) comes from each fold's validity against its bar
  ``null + gate.validity_share * (real - null)`` and its diversity against
  ``gate.diversity_min`` (the run's params.yaml, :class:`GateParams`). The
  metrics keep the mean and sd over folds, so a status is borderline when some fold *may* lie
  within the band: ``|mean margin| <= band + (K - 1) / sqrt(K) * sd`` (Samuelson's bound on how
  far one of K values can lie from their mean). The band is one fold's tolerance
  ``z_fw * sqrt(2) * sigma_unit`` when calibrated, else the declared
  :data:`.verify_numbers.GATE_BAND`. The paper table (one fold) records no reference level, so
  only its diversity is judged.
- A unit's chosen strategy is borderline when the runner-up's validation score lies within
  ``z_fw * 2 * sigma_unit`` of the pick's in either run (``runner_up_margin``, recorded by 06b;
  :func:`_chooser_margin`). Which filter sets came out empty is borderline when every set empty
  in one run kept no more images in the other than its count's tolerance. The numbers that
  follow from such a choice (the pick's filter counts and "best baseline" label, the rows of
  a set emptied in one run only) are marked borderline with it (:func:`follow_choices`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from ..core.config import GateParams, VerifyParams
from .verify_numbers import (
    DEFAULTS,
    PAPER_TABLE,
    Check,
    Noise,
    file_units,
    flatten,
    is_number,
    z_familywise,
)


def posterior(mean: float, sd: float, *, n: int, runs: int, rope: float,
              independent: bool = False) -> tuple[float, float, float]:
    """(P(worse), P(equivalent), P(better)) from a row's recorded ``diff_mean`` and
    ``diff_sd`` over n differences: the correlated t-test over n = folds x runs (as
    ``baycomp`` computes it in :func:`crossval.correlated_ttest`), or for ``independent``
    replicates the t posterior of :func:`crossval.independent_ttest`."""
    from scipy.stats import t

    from ..evaluation.crossval import posterior_scale

    if sd <= 0:
        return float(mean < -rope), float(abs(mean) <= rope), float(mean > rope)
    scale = posterior_scale(sd, n, runs=runs, independent=independent)
    worse = float(t.cdf(-rope, n - 1, mean, scale))
    better = float(t.sf(rope, n - 1, mean, scale))
    return worse, 1.0 - worse - better, better


@dataclass(frozen=True)
class StatementContext:
    """What a statement's band needs: the file's numbers, their tolerances, the noise."""

    name: str
    tolerance: dict[str, float]  # key -> tolerance of that number (this comparison)
    noise: Noise
    z: float
    settings: VerifyParams = DEFAULTS
    margins: GateParams = GateParams()  # the gate section of the run's params.yaml


def _verdict_margin(row: dict, data: dict, path: str, ctx: StatementContext) -> tuple[float, float,
                                                                              str] | None:
    """(distance of the nearest posterior probability from the decision threshold, band,
    what was read) for one run's row, or None when the row has no probabilities."""
    decision = data.get("decision", 0.95)
    probs = {k: row.get(k) for k in ("p_worse", "p_equivalent", "p_better")}
    if not all(is_number(p) for p in probs.values()):
        return None
    nearest = min(probs, key=lambda k: abs(probs[k] - decision))
    margin = abs(probs[nearest] - decision)
    band, how = ctx.settings.p_band, "declared band"
    mean, sd, n = row.get("diff_mean"), row.get("diff_sd"), row.get("folds_scored")
    runs = data.get("repeats", 1)
    rope = data.get("rope")
    independent = data.get("design") == "replicates"
    tol_mean = ctx.tolerance.get(f"{path}/diff_mean")
    tol_sd = ctx.tolerance.get(f"{path}/diff_sd")
    calibrated = ctx.noise and all(ctx.noise.unit(ctx.name, f"{path}/{k}") is not None
                                   for k in ("diff_mean", "diff_sd"))
    if calibrated and all(is_number(v) for v in (mean, sd, n, runs, rope, tol_mean, tol_sd)) \
            and sd > 0 and n / runs > 1:
        recorded = (probs["p_worse"], probs["p_equivalent"], probs["p_better"])
        again = posterior(mean, sd, n=int(n), runs=int(runs), rope=rope,
                          independent=independent)
        if all(math.isclose(x, y, abs_tol=1e-6) for x, y in zip(recorded, again, strict=True)):
            moved = [posterior(mean + dm, max(sd + ds, 0.0), n=int(n), runs=int(runs),
                               rope=rope, independent=independent)
                     for dm in (-tol_mean, 0.0, tol_mean) for ds in (-tol_sd, 0.0, tol_sd)]
            band = max(abs(x - y) for p in moved for x, y in zip(p, recorded, strict=True))
            how = "band from the tolerances of diff_mean and diff_sd"
    label = nearest.removeprefix("p_").replace("equivalent", "equiv.")
    return margin, band, f"P({label}) {probs[nearest]:.3f} vs {decision:g}, {how} ±{band:.3f}"


def _gate_margin(record: dict, data: dict, path: str, ctx: StatementContext) -> tuple[float, float,
                                                                              str] | None:
    """Like :func:`_verdict_margin` for a gate status: the nearest of validity vs its bar and
    diversity vs its minimum, less how far a fold may lie from the mean (Samuelson)."""
    share, minimum = ctx.margins.validity_share, ctx.margins.diversity_min
    units = file_units(data)
    reach = (units - 1) / math.sqrt(units) if units > 1 else 0.0

    def sd(key: str) -> float:
        value = record.get(key)
        return float(value) if is_number(value) and not math.isnan(value) else 0.0

    def band(key: str) -> tuple[float, str]:
        unit = ctx.noise.unit(ctx.name, f"{path}/{key}") if ctx.noise else None
        if unit is None:
            return ctx.settings.gate_band, "declared band"
        return ctx.z * math.sqrt(2) * unit, "band from one fold's calibrated noise"

    found = []
    v, null, real = (record.get(k) for k in ("validity_mean", "validity_null_mean",
                                             "validity_real_mean"))
    if all(is_number(x) for x in (v, null, real)):
        bar = null + share * (real - null)
        spread = reach * (sd("validity_sd") + share * sd("validity_real_sd")
                          + (1 - share) * sd("validity_null_sd"))
        b, how = band("validity_mean")
        found.append((abs(v - bar) - spread, b,
                      f"validity {v:.3f} vs bar {bar:.3f}, folds within ±{spread:.3f}, {how} "
                      f"±{b:.3f}"))
    d = record.get("diversity_mean", record.get("diversity"))
    key = "diversity_mean" if "diversity_mean" in record else "diversity"
    if is_number(d):
        spread = reach * sd("diversity_sd")
        b, how = band(key)
        found.append((abs(d - minimum) - spread, b,
                      f"diversity {d:.3f} vs {minimum:g}"
                      + (f", folds within ±{spread:.3f}" if spread else "") + f", {how} "
                      f"±{b:.3f}"))
    if not found:
        return None
    return min(found, key=lambda f: f[0] - f[1])


def _rows(d: dict, section: str) -> dict[str, dict]:
    """The records under a section (``rows``, ``oracle/rows``, ``gate``) by their name."""
    node = d
    for part in section.split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return {row: v for row, v in (node or {}).items() if isinstance(v, dict)}


def _chooser_margin(record: dict, data: dict, path: str, ctx: StatementContext
                    ) -> tuple[float, float, str] | None:
    """(how far the runner-up's validation score is below the pick's, band, what was read)
    for one unit's pick, or None without a recorded margin or calibrated noise.

    Each candidate's score carries one unit's rerun noise sigma_unit (the kind of
    ``val_macro_f1``), so the margin between two candidates moves between two runs by an sd of
    2 * sigma_unit; a pick whose margin lies within z_fw times that may go to the runner-up."""
    margin = record.get("runner_up_margin")
    fold = path.rsplit("/", 1)[-1]
    sigma = ctx.noise.unit(ctx.name, f"per_fold/{fold}/val_macro_f1") if ctx.noise else None
    if not is_number(margin) or sigma is None:
        return None
    band = ctx.z * 2 * sigma
    return float(margin), band, (f"runner-up {margin:.3f} below the pick, band from the "
                                 f"calibrated noise of a validation score ±{band:.3f}")


def _statements_of(name: str, d: dict
                   ) -> dict[str, tuple[object, str | None, tuple[str, str] | None]]:
    """{statement: (value, how its borderline band is judged, (section, row) of its numbers)}."""
    out: dict[str, tuple[object, str | None, tuple[str, str] | None]] = {}
    if name == "06_downstream.json":
        for title, path in (("verdict of", "rows"), ("oracle verdict of", "oracle/rows"),
                            ("spectrum-classifier verdict of", "spectrum_classifiers/rows")):
            for row, v in _rows(d, path).items():
                if "verdict" in v:
                    out[f"{title} {row}"] = (v.get("verdict"), "verdict", (path, row))
        out["filters that kept nothing"] = (json.dumps(d.get("emptied_by_filter"),
                                                       sort_keys=True), None, None)
        for fold, pick in ((d.get("oracle") or {}).get("best_generator") or {}).items():
            out[f"best generator in {fold}"] = ((pick or {}).get("name"), None, None)
    elif name == "02_chosen.json":
        for fold, v in d.get("per_fold", {}).items():
            n = v["n"] if v.get("n") is None else int(v["n"])
            out[f"chosen in {fold}"] = (f"{v.get('strategy')} at N={n}", "chooser",
                                        ("per_fold", fold))
    elif name == "03_generators.json":
        # a generator that passes the gate on one machine and fails on another changes what
        # the conclusion may say about it: a statement, not a tolerance
        for g, v in _rows(d, "gate").items():
            out[f"gate of {g}"] = (v.get("status"), "gate", ("gate", g))
    elif name == PAPER_TABLE:
        # its rows are the chooser's top three of the first fold: another pick is another
        # experiment, whose numbers are not compared with the committed pick's
        out["paper table rows (the chooser's top three in the first fold)"] = (
            json.dumps(d.get("row_order")), None, None)
        for s, v in _rows(d, "rows").items():
            out[f"paper table: gate of MPcGAN on {s}"] = (v.get("gate"), "gate", ("rows", s))
    return out


def statements(name: str, committed: dict, reproduced: dict, ctx: StatementContext | None = None
               ) -> list[Check]:
    """The statements of one file, committed against reproduced, each marked borderline when
    its probability or validity sits within the band of its threshold in either run."""
    ctx = ctx or StatementContext(name, {}, Noise(), z_familywise(1))
    old, new = _statements_of(name, committed), _statements_of(name, reproduced)
    checks = []
    for key in sorted(set(old) | set(new)):
        a, how, where = old.get(key, (None, None, None))
        b, how_b, where_b = new.get(key, (None, None, None))
        how, where = how or how_b, where or where_b
        near, notes = False, []
        if how is not None:
            judge = {"verdict": _verdict_margin, "chooser": _chooser_margin}.get(how,
                                                                               _gate_margin)
            section, row = where
            for run, data in (("committed", committed), ("reproduced", reproduced)):
                record = _rows(data, section).get(row)
                found = judge(record, data, f"{section}/{row}", ctx) if record else None
                if found is None:
                    continue
                margin, band, text = found
                if margin <= band:
                    near = True
                    notes.append(f"{run}: {text}")
        if len(notes) == 2 and notes[0].split(": ", 1)[1] == notes[1].split(": ", 1)[1]:
            notes = [f"both runs: {notes[0].split(': ', 1)[1]}"]
        checks.append(Check(f"statement: {key}", a, b, None, a == b, borderline=near,
                            basis="; ".join(notes)))
    return checks


def follow_choices(checks: list[Check], data: dict[str, tuple[dict, dict]]) -> list[Check]:
    """Excuse what follows from a discrete choice that changed within noise.

    Two choices of a run are discrete: the chooser's pick in a unit, and whether a filter left
    a generator's set in a unit empty. When a pick changed and is borderline (its runner-up
    within noise, :func:`_chooser_margin`), the numbers made from the pick in that unit are
    another experiment: the filters' counts of the ``augmentation`` source there, the oracle's
    "best baseline" label there, and in the first unit stage 05's ``augmentation`` sets. When
    the sets a filter emptied changed and every set empty in one run kept no more in the other
    than its count's tolerance, that statement is borderline, and the numbers of those sets'
    rows (one unit fewer or more scored) follow it. Such checks are marked borderline, with
    the choice they follow; ``data`` maps a metrics file to its (committed, reproduced) JSON.
    """
    import dataclasses

    from ..evaluation.rows import set_row_name

    by_metric = {c.metric: c for c in checks}
    rules: list[tuple[object, str]] = []
    chosen = data.get("02_chosen.json", (None, None))[0] or {}
    first = (chosen.get("fold_names") or [None])[0]
    for c in checks:
        if c.metric.startswith("statement: chosen in ") and c.borderline and not c.agrees:
            from ..generators.sources import AUGMENTATION  # the pick's name as a stage-04 source

            unit = c.metric.removeprefix("statement: chosen in ")

            def from_pick(metric: str, unit: str = unit) -> bool:
                source = f"/{AUGMENTATION}/"
                return (metric == f"06_downstream.json:oracle/best_baseline/{unit}"
                        or (metric.startswith(f"04_filter.json:kept{source}")
                            and metric.endswith(f"/{unit}"))
                        or (unit == first and metric.startswith("05_fidelity.json:")
                            and source in metric))
            rules.append((lambda check, rule=from_pick: rule(check.metric),
                          f"follows the chooser's borderline pick in {unit}"))
    emptied = by_metric.get("statement: filters that kept nothing")
    old_f, new_f = data.get("04_filter.json", (None, None))
    if emptied is not None and emptied.disagrees and old_f and new_f:
        old_kept, new_kept = flatten(old_f.get("kept") or {}), flatten(new_f.get("kept") or {})
        changed = []  # (source/filter/unit, the count of the run that kept some, tolerance)
        for key in sorted(old_kept.keys() & new_kept.keys()):
            a, b = old_kept[key], new_kept[key]
            if is_number(a) and is_number(b) and (a == 0) != (b == 0):
                check = by_metric.get(f"04_filter.json:kept/{key}")
                changed.append((key, max(a, b), check.tolerance if check else None))
        if changed and all(tol is not None and kept <= tol for _, kept, tol in changed):
            text = "; ".join(f"{key} kept {kept:g} in one run, none in the other (a count's "
                             f"tolerance ±{tol:.3g})" for key, kept, tol in changed)
            checks = [dataclasses.replace(c, borderline=True, basis=text) if c is emptied else c
                      for c in checks]
            for key, _, _ in changed:
                source, filter_name, unit = key.split("/")
                row = set_row_name(source, filter_name)
                rules.append((lambda check, row=row: check.metric.startswith(
                    f"06_downstream.json:rows/{row}/"),
                    f"follows the set {row} emptied in one run only"))
                if unit == first:  # stage 05 scores the first unit's sets: that set's scores
                    rules.append((lambda check, prefix=f"{source}/{filter_name}/":
                                  check.metric.startswith(f"05_fidelity.json:overall/{prefix}"),
                                  f"follows the set {row} emptied in one run only (in "
                                  f"{unit}, the unit stage 05 scores)"))
    # A gate status is also written beside every row and set of its generator: each copy of a
    # borderline gate statement that changed the same way is that statement, not a new number.
    for c in checks:
        if c.metric.startswith("statement: gate of ") and c.borderline and not c.agrees:
            generator = c.metric.removeprefix("statement: gate of ")
            rules.append((lambda check, pair=(c.committed, c.reproduced):
                          (check.committed, check.reproduced) == pair,
                          f"repeats the borderline gate of {generator}"))
    if not rules:
        return checks
    out = []
    for c in checks:
        reason = next((why for rule, why in rules if rule(c)), None) \
            if c.disagrees and not c.statement else None
        out.append(dataclasses.replace(c, borderline=True, basis=reason) if reason else c)
    return out

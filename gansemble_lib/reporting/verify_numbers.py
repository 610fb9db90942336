"""Numbers of ``gansemble verify``: which numbers of the metrics files are compared, with
what tolerance, and where that tolerance comes from (the command is :mod:`.verify`).

**What a rerun may change.** A rerun keeps the data, the splits and the seeds, so the spread
*between folds* is not noise a rerun has. A rerun on another CPU or BLAS build changes a
number only through training noise: another floating-point summation order takes training
along another trajectory. Call ``sigma_unit`` that noise on one unit's value (one outer fold's
score): the committed value and the rerun each carry it, so a number's difference between the
two has standard deviation

    sigma_diff = sqrt(2) * sigma_unit / d,

with ``d = sqrt(K)`` for a mean over the K folds (x repeats) of a file, ``d = sqrt(K - 1)``
for their sd (to first order an sd of K values moves by the noise's projection on one
direction, over sqrt(K - 1)), and ``d = 1`` for one fold's value or a file about one fold.

**Where sigma_unit comes from.** The metrics files record the mean over classifier seeds, not
the seed-to-seed spread within a fold, so sigma_unit cannot be read from them. It is read from
``rerun_noise.json`` beside the metrics (:data:`NOISE_FILE`: metric-key pattern -> sigma per
unit), written by :func:`estimate_rerun_noise` from two honest reruns A and B of the same
design (``gansemble verify --estimate-noise A B``): per number ``|a - b| / sqrt(2) * d``,
pooled (root mean square) over the rows and folds of one metric kind (:func:`metric_kind`).
Without that file the tolerance falls back to a conservative rule, labelled **uncalibrated**
in the output: the old spread-between-folds rule, ``sigma_diff = sd / sqrt(K)`` for a value
with an sd across folds, and the spread across folds for a per-fold value. It is looser than
any training noise we measured (a fold's rerun moves a 5-fold mean by a fifth of it), so it
misses small disagreements rather than raising false ones.

**Family-wise z.** With m numbers compared at once, each gets ``z_fw = Phi^-1(1 - ALPHA/(2m))``
(Bonferroni, two-sided; :func:`z_familywise`): if the noise is normal with the calibrated sd,
the expected number of false alarms per run is at most :data:`ALPHA` (0.05; ~1,300 numbers ->
z_fw ~ 4.1). The tolerance is ``max(z_fw * sigma_diff, floor)``, the floor being one held-out
sample predicted differently (``1 / n`` for a mean over the folds of n samples, ``K / n`` for
one fold's value, 1 for a per-fold count): a score of 1.000 in every fold can still move by one
prediction. Counts and the raw data's hash must be equal (``data.dvc`` is checked by DVC).
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..core.config import VerifyParams

# from calibrated noise.
DEFAULTS = VerifyParams()
ALPHA, P_BAND, GATE_BAND = DEFAULTS.alpha, DEFAULTS.p_band, DEFAULTS.gate_band
NOISE_FILE = "rerun_noise.json"
PAPER_TABLE = "05b_paper_table.json"

EXACT_KEYS = ("n_samples", "n_classes", "folds", "repeats", "n_generated", "counts",
              "class_counts", "candidates", "folds_scored")
# Keys not compared as numbers: what describes the run rather than measures it (timings, text),
# and what is derived from the compared numbers and judged as a statement instead (a verdict
# and the posterior probabilities and p-values behind it; the chooser's pick and its margin).
IGNORED_KEYS = ("seconds", "conclusion", "notice", "weights_sha256", "budget", "note",
                "fold_names", "train_seconds", "t", "p_better", "p_equivalent", "p_worse",
                "p_value", "p_holm", "verdict", "strategy", "n", "tied_candidates",
                "runner_up_margin",
                "emptied_by_filter", "worth_real_per_class")
# a unit's name: an outer fold (r0f3), a simulated replicate (rep03) or the one split
FOLD_LEAF = re.compile(r"^(r\d+f\d+|rep\d+|r?\d*split)$")
# Sections whose second level names a kind of result, not a row (see metric_kind).
NESTED_SECTIONS = ("oracle", "spectrum_classifiers")
CALIBRATED, UNCALIBRATED, RESOLUTION = "calibrated", "uncalibrated", "resolution"


@dataclass(frozen=True)
class Check:
    metric: str
    committed: object
    reproduced: object
    tolerance: float | None  # None: must be equal
    agrees: bool  # numbers: within tolerance; statements: unchanged
    borderline: bool = False  # statements: within the band of their threshold in either run
    basis: str = ""  # numbers: calibrated / uncalibrated / resolution; statements: the margin
    sigma: float | None = None  # numbers: the sd of committed - reproduced tolerance scales

    @property
    def statement(self) -> bool:
        return self.metric.startswith("statement:")

    @property
    def disagrees(self) -> bool:
        """Counted as a disagreement: a number outside its tolerance, or a changed statement
        that was not borderline."""
        return not self.agrees and not self.borderline



def flatten(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}/{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _ignored(key: str) -> bool:
    leaf = key.rsplit("/", 1)[-1]
    return key.split("/")[0] in IGNORED_KEYS or "seconds" in leaf or any(
        leaf == k or leaf.endswith(f"_{k}") for k in IGNORED_KEYS)


def _exact(key: str) -> bool:
    return any(part in EXACT_KEYS for part in key.split("/"))


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _spread_key(key: str, flat: dict[str, object]) -> str | None:
    """The sd that goes with a value: ``x_mean`` or ``x`` -> ``x_sd``; an sd goes with itself."""
    if key.endswith("_sd"):
        return key
    for candidate in (key.removesuffix("_mean") + "_sd", key + "_sd"):
        if candidate in flat:
            return candidate
    return None


def _per_fold(key: str) -> bool:
    return any(FOLD_LEAF.match(part) for part in key.split("/"))


def _per_fold_spread(flat: dict[str, object]) -> dict[str, float]:
    """For values recorded per fold (``.../<fold>``): the sd across the folds of their group.

    A single fold's value (a filter's kept count in fold r0f2, say) has no sd of its own; how
    much it differs between folds is the uncalibrated rule's spread for a rerun of that fold.
    """
    import statistics

    groups: dict[str, list[float]] = {}
    for key, value in flat.items():
        head, _, leaf = key.rpartition("/")
        if FOLD_LEAF.match(leaf) and is_number(value):
            groups.setdefault(head, []).append(float(value))
    return {head: statistics.stdev(v) if len(v) > 1 else 0.0 for head, v in groups.items()}


def file_units(data: dict) -> int:
    """K: how many units (folds x repeats) a file's means and sds are taken over (1: one fold)."""
    folds, repeats = data.get("folds"), data.get("repeats")
    if not is_number(folds):
        return 1
    return max(int(folds) * (int(repeats) if is_number(repeats) else 1), 1)


def divisor(key: str, flat: dict[str, object], units: int) -> float:
    """``d``: a number's rerun sd is ``sigma_unit / d`` (see the module docstring)."""
    if units <= 1 or _per_fold(key) or _spread_key(key, flat) is None:
        return 1.0
    return math.sqrt(units - 1) if key.endswith("_sd") else math.sqrt(units)


def metric_kind(name: str, key: str) -> str:
    """The pattern that pools a number with others of its kind: ``file:section/*/leaf``.

    Row, generator and fold names become ``*``; the section (and, under ``oracle`` and
    ``spectrum_classifiers``, the sub-section) and the leaf stay. For example
    ``06_downstream.json:rows/*/macro_f1_mean`` or ``04_filter.json:kept/*``.
    """
    parts = key.split("/")
    keep = 2 if parts[0] in NESTED_SECTIONS and len(parts) > 2 else 1
    head, rest = parts[:keep], parts[keep:]
    if rest:
        leaf = rest[-1]
        middle = ["*"] if len(rest) > 1 else []
        rest = middle + ["*" if FOLD_LEAF.match(leaf) else leaf]
    out: list[str] = []
    for part in head + rest:
        if not (part == "*" and out and out[-1] == "*"):
            out.append(part)
    return f"{name}:{'/'.join(out)}"


# --------------------------------------------------------------------------- tolerances

def z_familywise(m: int, alpha: float = ALPHA) -> float:
    """Bonferroni's two-sided z for m checks: expected false alarms per run <= alpha."""
    from scipy.stats import norm

    return float(norm.isf(alpha / (2 * max(int(m), 1))))


@dataclass
class Noise:
    """Rerun noise per unit by metric-key pattern (from :data:`NOISE_FILE`); empty: none."""

    sigma: dict[str, float] = field(default_factory=dict)
    source: str = ""

    @classmethod
    def from_json(cls, data: dict | None, source: str = "") -> Noise:
        if not data:
            return cls()
        table = data.get("sigma_unit", data)
        sigma = {pattern: float(v["sigma"] if isinstance(v, dict) else v)
                 for pattern, v in table.items()
                 if isinstance(v, int | float | dict) and not isinstance(v, bool)}
        return cls(sigma, source)

    def __bool__(self) -> bool:
        return bool(self.sigma)

    def unit(self, name: str, key: str) -> float | None:
        """sigma per unit of ``name:key``: its kind's entry, else the most specific pattern."""
        label = f"{name}:{key}"
        kind = metric_kind(name, key)
        if kind in self.sigma:
            return self.sigma[kind]
        matches = [p for p in self.sigma if fnmatch.fnmatchcase(label, p)]
        if not matches:
            return None
        return self.sigma[max(matches, key=lambda p: len(p.replace("*", "")))]


@dataclass(frozen=True)
class PendingNumber:
    """A number compared with a tolerance, before the family-wise z is known."""

    label: str
    committed: float
    reproduced: float
    sigma: float  # sd of committed - reproduced
    floor: float
    basis: str

    def check(self, z: float) -> Check:
        tol = max(z * self.sigma, self.floor)
        a, b = self.committed, self.reproduced
        agrees = math.isclose(a, b, abs_tol=tol) or (math.isnan(a) and math.isnan(b))
        basis = self.basis if z * self.sigma >= self.floor else RESOLUTION
        return Check(self.label, a, b, tol, agrees, basis=basis, sigma=self.sigma)


def file_numbers(name: str, committed: dict, reproduced: dict, *, folds: int, resolution: float,
             noise: Noise) -> list[Check | PendingNumber]:
    """Every number of one metrics file, committed against reproduced (tolerances pending)."""
    old, new = flatten(committed), flatten(reproduced)
    per_fold = _per_fold_spread(old)
    units = file_units(committed)
    items: list[Check | PendingNumber] = []
    for key in sorted(set(old) | set(new)):
        if _ignored(key):
            continue
        if key not in old:
            continue  # a number the committed run did not record (newer code): nothing to check
        a, b = old.get(key), new.get(key)
        label = f"{name}:{key}"
        if name == PAPER_TABLE and key.startswith("rows/") \
                and key.split("/")[1] not in (reproduced.get("rows") or {}):
            continue  # another augmentation in the chooser's top three: a statement, below
        if key not in new:
            items.append(Check(label, a, "missing", None, False))
            continue
        if is_number(a) and is_number(b) and not _exact(key):
            head, _, leaf = key.rpartition("/")
            fold_value = head in per_fold and FOLD_LEAF.match(leaf)
            if fold_value:
                floor = 1.0 if isinstance(a, int) else min(resolution * units, 1.0)
            else:
                floor = resolution
            unit = noise.unit(name, key) if noise else None
            if unit is not None:
                sigma, basis = math.sqrt(2) * unit / divisor(key, old, units), CALIBRATED
            elif fold_value:
                sigma, basis = per_fold[head], UNCALIBRATED
            else:
                spread = _spread_key(key, old)
                sd = old.get(spread) if spread else None
                sigma = float(sd) / math.sqrt(max(folds, 1)) if is_number(sd) else 0.0
                sigma = 0.0 if math.isnan(sigma) else sigma
                basis = UNCALIBRATED
            items.append(PendingNumber(label, a, b, sigma, floor, basis))
        elif isinstance(a, str | bool | int | float) or isinstance(b, str | bool | int | float) \
                or a is None or b is None:
            items.append(Check(label, a, b, None, a == b))
    return items



def read_folder(folder: Path):
    return lambda name: (json.loads((folder / name).read_text(encoding="utf-8"))
                         if (folder / name).is_file() else None)


def metric_names(*names) -> list[str]:
    return sorted({n for group in names for n in group} - {".gitignore", NOISE_FILE})



# --------------------------------------------------------------------------- rerun noise

def estimate_rerun_noise(run_a_dir: str | Path, run_b_dir: str | Path, *,
                         out: str | Path | None = None, note: str = "",
                         pool_with: dict | None = None) -> dict:
    """sigma per unit of every metric kind, from two honest reruns of the same design.

    Each number compared by verify gives ``|a - b| / sqrt(2) * d`` (d: :func:`divisor`, so
    a mean over K folds speaks for one fold); the numbers of one kind (:func:`metric_kind`,
    e.g. every row's ``macro_f1_mean``) are pooled by root mean square. ``pool_with``, an
    earlier estimate (the JSON this writes), is pooled in by its ``pairs``: the result is the
    root mean square over both pairs of runs. Writes the result to ``out`` as JSON when given
    (``reports/metrics/rerun_noise.json`` is what verify reads).
    """
    run_a_dir, run_b_dir = Path(run_a_dir), Path(run_b_dir)
    names = metric_names((p.name for p in run_a_dir.glob("*.json")),
                          (p.name for p in run_b_dir.glob("*.json")))
    pooled: dict[str, list[float]] = {}
    units_seen: dict[str, int] = {}
    for name in names:
        a_data, b_data = read_folder(run_a_dir)(name), read_folder(run_b_dir)(name)
        if a_data is None or b_data is None:
            continue
        a_flat, b_flat = flatten(a_data), flatten(b_data)
        units = file_units(a_data)
        for key in sorted(set(a_flat) & set(b_flat)):
            a, b = a_flat[key], b_flat[key]
            if _ignored(key) or _exact(key) or not (is_number(a) and is_number(b)) \
                    or math.isnan(a) or math.isnan(b):
                continue
            kind = metric_kind(name, key)
            pooled.setdefault(kind, []).append(
                ((a - b) / math.sqrt(2) * divisor(key, a_flat, units)) ** 2)
            units_seen[kind] = units
    earlier = (pool_with or {}).get("sigma_unit", {})
    sums = {kind: (sum(v), len(v)) for kind, v in pooled.items()}
    for kind, entry in earlier.items():  # an earlier pair's squares, by their count
        total, count = sums.get(kind, (0.0, 0))
        sums[kind] = (total + entry["sigma"] ** 2 * entry["pairs"], count + entry["pairs"])
        units_seen.setdefault(kind, entry.get("units", 1))
    sigma = {kind: {"sigma": math.sqrt(total / count), "pairs": count,
                    "units": units_seen[kind]}
             for kind, (total, count) in sorted(sums.items()) if count}
    result = {
        "about": "rerun noise per unit (one outer fold's value) by metric kind, from two "
                 "honest reruns: sigma = RMS over the kind's numbers of |a - b| / sqrt(2) * d "
                 "(d = sqrt(K) for a mean over K folds, sqrt(K - 1) for their sd, 1 for one "
                 "fold's value); read by `gansemble verify` (gansemble_lib/reporting/verify.py)",
        "runs": [*(pool_with or {}).get("runs", []), str(run_a_dir), str(run_b_dir)],
        "note": note,
        "sigma_unit": sigma,
    }
    if out is not None:
        Path(out).write_text(json.dumps(result, indent=1, sort_keys=False) + "\n",
                             encoding="utf-8")
    return result

"""``gansemble verify``: does a rerun agree with the committed results?

Exit status (:func:`verify`): **0** the rerun agrees, **1** it disagrees, **2** nothing to
compare — the checkout's metrics are the committed ones (nothing was rerun), or the folder is
not a git checkout (then ``--committed DIR`` compares with a folder of committed metrics).

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

**Statements** are compared as statements: each row's verdict, each fold's chosen strategy,
each generator's gate status, which filters kept nothing. A verdict or gate status whose
underlying number sits within a band of its threshold in either run is **borderline**: listed
by name, and a change of it is not a disagreement (see :func:`statements`).

- A verdict comes from the posterior probabilities P(better), P(equivalent), P(worse) of the
  correlated t-test (:mod:`crossval`) against ``decision`` (0.95). Calibrated, the band is how
  far those probabilities move when ``diff_mean`` and ``diff_sd`` move by their tolerances
  (the posterior recomputed, :func:`posterior`); uncalibrated (or when the recorded
  probabilities cannot be recomputed), the declared :data:`P_BAND`.
- A gate status (:mod:`gate`) comes from each fold's validity against its bar
  ``null + VALIDITY_SHARE * (real - null)`` and its diversity against ``DIVERSITY_MIN``. The
  metrics keep the mean and sd over folds, so a status is borderline when some fold *may* lie
  within the band: ``|mean margin| <= band + (K - 1) / sqrt(K) * sd`` (Samuelson's bound on how
  far one of K values can lie from their mean). The band is one fold's tolerance
  ``z_fw * sqrt(2) * sigma_unit`` when calibrated, else the declared :data:`GATE_BAND`. The
  paper table (one fold) records no reference level, so only its diversity is judged.

``dvc metrics diff`` lists the same files' changes without tolerances.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..core.config import VerifyParams, load_params
from ..core.errors import DataError

# params.yaml's `verify` section (its defaults when a checkout has none): the family-wise
# false-alarm rate and the declared bands of "borderline", used where they cannot be derived
# from calibrated noise.
DEFAULTS = VerifyParams()
ALPHA, P_BAND, GATE_BAND = DEFAULTS.alpha, DEFAULTS.p_band, DEFAULTS.gate_band
NOISE_FILE = "rerun_noise.json"
PAPER_TABLE = "05b_paper_table.json"
NOT_GIT = ("not a git checkout: verify compares with the results committed in git; use "
           "--committed DIR to compare with a folder of committed metrics")

EXACT_KEYS = ("n_samples", "n_classes", "folds", "repeats", "n_generated", "counts",
              "class_counts", "candidates", "folds_scored")
# Keys not compared as numbers: what describes the run rather than measures it (timings, text),
# and what is derived from the compared numbers and judged as a statement instead (a verdict
# and the posterior probabilities and p-values behind it; the chooser's pick).
IGNORED_KEYS = ("seconds", "conclusion", "notice", "weights_sha256", "budget", "note",
                "fold_names", "train_seconds", "t", "p_better", "p_equivalent", "p_worse",
                "p_value", "p_holm", "verdict", "strategy", "n", "tied_candidates",
                "emptied_by_filter", "worth_real_per_class")
FOLD_LEAF = re.compile(r"^(r\d+f\d+|r?\d*split)$")
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


# --------------------------------------------------------------------------- helpers

def committed_json(path: str | Path, ref: str = "HEAD", root: str | Path = ".") -> dict | None:
    """A file's JSON as committed at ``ref`` (None when git has no such file)."""
    result = subprocess.run(["git", "show", f"{ref}:{Path(path).as_posix()}"], cwd=root,
                            capture_output=True, text=True)
    return json.loads(result.stdout) if result.returncode == 0 else None


def git_problem(root: str | Path, ref: str = "HEAD") -> str | None:
    """Why ``root`` cannot be compared with git (None: it is the top of a checkout with ``ref``)."""
    root = Path(root)
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root,
                             capture_output=True, text=True)
        has_ref = subprocess.run(["git", "rev-parse", "--verify", "--quiet",
                                  f"{ref}^{{commit}}"], cwd=root, capture_output=True,
                                 text=True)
    except OSError:  # no git program
        return NOT_GIT + " (git is not installed)"
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != root.resolve():
        return NOT_GIT
    if has_ref.returncode != 0:
        return f"{NOT_GIT} (this checkout has no revision {ref})"
    return None


def _flatten(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}/{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _ignored(key: str) -> bool:
    leaf = key.rsplit("/", 1)[-1]
    return key.split("/")[0] in IGNORED_KEYS or "seconds" in leaf or any(
        leaf == k or leaf.endswith(f"_{k}") for k in IGNORED_KEYS)


def _exact(key: str) -> bool:
    return any(part in EXACT_KEYS for part in key.split("/"))


def _number(value: object) -> bool:
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
        if FOLD_LEAF.match(leaf) and _number(value):
            groups.setdefault(head, []).append(float(value))
    return {head: statistics.stdev(v) if len(v) > 1 else 0.0 for head, v in groups.items()}


def _file_units(data: dict) -> int:
    """K: how many units (folds x repeats) a file's means and sds are taken over (1: one fold)."""
    folds, repeats = data.get("folds"), data.get("repeats")
    if not _number(folds):
        return 1
    return max(int(folds) * (int(repeats) if _number(repeats) else 1), 1)


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
class _Numeric:
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


def _numbers(name: str, committed: dict, reproduced: dict, *, folds: int, resolution: float,
             noise: Noise) -> list[Check | _Numeric]:
    """Every number of one metrics file, committed against reproduced (tolerances pending)."""
    old, new = _flatten(committed), _flatten(reproduced)
    per_fold = _per_fold_spread(old)
    units = _file_units(committed)
    items: list[Check | _Numeric] = []
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
        if _number(a) and _number(b) and not _exact(key):
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
                sigma = float(sd) / math.sqrt(max(folds, 1)) if _number(sd) else 0.0
                sigma = 0.0 if math.isnan(sigma) else sigma
                basis = UNCALIBRATED
            items.append(_Numeric(label, a, b, sigma, floor, basis))
        elif isinstance(a, str | bool | int | float) or isinstance(b, str | bool | int | float) \
                or a is None or b is None:
            items.append(Check(label, a, b, None, a == b))
    return items


# --------------------------------------------------------------------------- statements

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
class _Context:
    """What a statement's band needs: the file's numbers, their tolerances, the noise."""

    name: str
    tolerance: dict[str, float]  # key -> tolerance of that number (this comparison)
    noise: Noise
    z: float
    settings: VerifyParams = DEFAULTS


def _verdict_margin(row: dict, data: dict, path: str, ctx: _Context) -> tuple[float, float,
                                                                              str] | None:
    """(distance of the nearest posterior probability from the decision threshold, band,
    what was read) for one run's row, or None when the row has no probabilities."""
    decision = data.get("decision", 0.95)
    probs = {k: row.get(k) for k in ("p_worse", "p_equivalent", "p_better")}
    if not all(_number(p) for p in probs.values()):
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
    if calibrated and all(_number(v) for v in (mean, sd, n, runs, rope, tol_mean, tol_sd)) \
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


def _gate_margin(record: dict, data: dict, path: str, ctx: _Context) -> tuple[float, float,
                                                                              str] | None:
    """Like :func:`_verdict_margin` for a gate status: the nearest of validity vs its bar and
    diversity vs DIVERSITY_MIN, less how far a fold may lie from the mean (Samuelson)."""
    from ..evaluation.gate import DIVERSITY_MIN, VALIDITY_SHARE

    units = _file_units(data)
    reach = (units - 1) / math.sqrt(units) if units > 1 else 0.0

    def sd(key: str) -> float:
        value = record.get(key)
        return float(value) if _number(value) and not math.isnan(value) else 0.0

    def band(key: str) -> tuple[float, str]:
        unit = ctx.noise.unit(ctx.name, f"{path}/{key}") if ctx.noise else None
        if unit is None:
            return ctx.settings.gate_band, "declared band"
        return ctx.z * math.sqrt(2) * unit, "band from one fold's calibrated noise"

    found = []
    v, null, real = (record.get(k) for k in ("validity_mean", "validity_null_mean",
                                             "validity_real_mean"))
    if all(_number(x) for x in (v, null, real)):
        bar = null + VALIDITY_SHARE * (real - null)
        spread = reach * (sd("validity_sd") + VALIDITY_SHARE * sd("validity_real_sd")
                          + (1 - VALIDITY_SHARE) * sd("validity_null_sd"))
        b, how = band("validity_mean")
        found.append((abs(v - bar) - spread, b,
                      f"validity {v:.3f} vs bar {bar:.3f}, folds within ±{spread:.3f}, {how} "
                      f"±{b:.3f}"))
    d = record.get("diversity_mean", record.get("diversity"))
    key = "diversity_mean" if "diversity_mean" in record else "diversity"
    if _number(d):
        spread = reach * sd("diversity_sd")
        b, how = band(key)
        found.append((abs(d - DIVERSITY_MIN) - spread, b,
                      f"diversity {d:.3f} vs {DIVERSITY_MIN:g}"
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
            out[f"chosen in {fold}"] = (f"{v.get('strategy')} at N={n}", None, None)
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


def statements(name: str, committed: dict, reproduced: dict, ctx: _Context | None = None
               ) -> list[Check]:
    """The statements of one file, committed against reproduced, each marked borderline when
    its probability or validity sits within the band of its threshold in either run."""
    ctx = ctx or _Context(name, {}, Noise(), z_familywise(1))
    old, new = _statements_of(name, committed), _statements_of(name, reproduced)
    checks = []
    for key in sorted(set(old) | set(new)):
        a, how, where = old.get(key, (None, None, None))
        b, how_b, where_b = new.get(key, (None, None, None))
        how, where = how or how_b, where or where_b
        near, notes = False, []
        if how is not None:
            judge = _verdict_margin if how == "verdict" else _gate_margin
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


# --------------------------------------------------------------------------- result sets

def _design(metrics_dir: Path) -> tuple[int, float]:
    """(folds x repeats, resolution) of a result set, from its committed files."""
    downstream = json.loads((metrics_dir / "06_downstream.json").read_text(encoding="utf-8"))
    explore = json.loads((metrics_dir / "01_explore.json").read_text(encoding="utf-8"))
    folds = int(downstream.get("folds", 1)) * int(downstream.get("repeats", 1))
    n = explore.get("n_samples") or 1
    return folds, 1.0 / n


@dataclass
class _Pending:
    """A result set compared, with the numbers' tolerances waiting for the family-wise z."""

    files: list[tuple[str, dict, dict, list[Check | _Numeric]]]
    noise: Noise

    @property
    def m(self) -> int:
        return sum(isinstance(i, _Numeric) for _, _, _, items in self.files for i in items)

    def checks(self, z: float, settings: VerifyParams = DEFAULTS) -> list[Check]:
        out = []
        for name, old, new, items in self.files:
            if old is None or new is None:
                out += items
                continue
            done = [i.check(z) if isinstance(i, _Numeric) else i for i in items]
            tolerance = {c.metric.split(":", 1)[1]: c.tolerance for c in done
                         if c.tolerance is not None}
            out += done + statements(name, old, new, _Context(name, tolerance, self.noise, z,
                                                              settings))
        return out


def _pending(names: list[str], committed, reproduced, *, folds: int, resolution: float,
             noise: Noise) -> _Pending:
    files = []
    for name in names:
        old, new = committed(name), reproduced(name)
        if old is None or new is None:
            files.append((name, old, new, [Check(name, "missing" if old is None else "present",
                                                 "missing" if new is None else "present",
                                                 None, False)]))
            continue
        files.append((name, old, new, _numbers(name, old, new, folds=folds,
                                               resolution=resolution, noise=noise)))
    return _Pending(files, noise)


def compare_files(name: str, committed: dict, reproduced: dict, *, folds: int,
                  resolution: float, noise: Noise | None = None, z: float | None = None
                  ) -> list[Check]:
    """Every number and statement of one metrics file, committed against reproduced (z: the
    family-wise z; by default that of this file's numbers alone)."""
    pending = _pending([name], lambda _: committed, lambda _: reproduced, folds=folds,
                       resolution=resolution, noise=noise or Noise())
    return pending.checks(z if z is not None else z_familywise(pending.m))


def _read(folder: Path):
    return lambda name: (json.loads((folder / name).read_text(encoding="utf-8"))
                         if (folder / name).is_file() else None)


def _metric_names(*names) -> list[str]:
    return sorted({n for group in names for n in group} - {".gitignore", NOISE_FILE})


def _git_set(metrics_dir: Path, ref: str, root: Path):
    """(names, committed reader, noise) of a result set tracked by git."""
    if not list(metrics_dir.glob("*.json")):
        raise DataError("no metrics files", path=metrics_dir,
                        fix="run the pipeline first (`make reproduce`)")
    relative = metrics_dir.resolve().relative_to(root.resolve())
    listed = subprocess.run(["git", "ls-tree", "--name-only", f"{ref}:{relative.as_posix()}"],
                            cwd=root, capture_output=True, text=True).stdout.split()
    names = _metric_names(listed, (p.name for p in metrics_dir.glob("*.json")))
    noise_file = metrics_dir / NOISE_FILE
    if noise_file.is_file():
        noise = Noise.from_json(json.loads(noise_file.read_text(encoding="utf-8")),
                                noise_file.resolve().relative_to(root.resolve()).as_posix())
    else:
        noise = Noise.from_json(committed_json(relative / NOISE_FILE, ref, root),
                                f"{(relative / NOISE_FILE).as_posix()} at {ref}")
    return names, (lambda name: committed_json(relative / name, ref, root)), noise


def unchanged(metrics_dir: str | Path, *, ref: str = "HEAD", root: str | Path = ".",
              committed_dir: str | Path | None = None) -> bool:
    """Whether every metrics file of the set equals (as JSON) its committed version: nothing
    was rerun, and comparing would compare the committed results with themselves."""
    metrics_dir, root = Path(metrics_dir), Path(root)
    if committed_dir is not None:
        names = _metric_names((p.name for p in Path(committed_dir).glob("*.json")),
                              (p.name for p in metrics_dir.glob("*.json")))
        committed = _read(Path(committed_dir))
    else:
        names, committed, _ = _git_set(metrics_dir, ref, root)
    mine = _read(metrics_dir)
    return all(committed(name) == mine(name) for name in names)


def _metrics_pending(metrics_dir: Path, *, ref: str, root: Path) -> _Pending:
    names, committed, noise = _git_set(metrics_dir, ref, root)
    folds, resolution = _design(metrics_dir)
    return _pending(names, committed, _read(metrics_dir), folds=folds, resolution=resolution,
                    noise=noise)


def _against_pending(metrics_dir: Path, committed_dir: Path) -> _Pending:
    names = _metric_names((p.name for p in committed_dir.glob("*.json")),
                          (p.name for p in metrics_dir.glob("*.json")))
    noise_file = next((f / NOISE_FILE for f in (committed_dir, metrics_dir)
                       if (f / NOISE_FILE).is_file()), None)
    noise = Noise.from_json(json.loads(noise_file.read_text(encoding="utf-8")),
                            str(noise_file)) if noise_file else Noise()
    folds, resolution = _design(committed_dir)
    return _pending(names, _read(committed_dir), _read(metrics_dir), folds=folds,
                    resolution=resolution, noise=noise)


def verify_metrics(metrics_dir: str | Path, *, ref: str = "HEAD", root: str | Path = ".",
                   z: float | None = None) -> list[Check]:
    """All checks of one result set (a folder of metrics JSON tracked by git)."""
    pending = _metrics_pending(Path(metrics_dir), ref=ref, root=Path(root))
    return pending.checks(z if z is not None else z_familywise(pending.m))


def verify_against(metrics_dir: str | Path, committed_dir: str | Path, *,
                   z: float | None = None) -> list[Check]:
    """Like :func:`verify_metrics`, against copies of the committed files in a folder (and
    its ``rerun_noise.json``, else the metrics folder's)."""
    pending = _against_pending(Path(metrics_dir), Path(committed_dir))
    return pending.checks(z if z is not None else z_familywise(pending.m))


# --------------------------------------------------------------------------- rerun noise

def estimate_rerun_noise(run_a_dir: str | Path, run_b_dir: str | Path, *,
                         out: str | Path | None = None, note: str = "") -> dict:
    """sigma per unit of every metric kind, from two honest reruns of the same design.

    Each number compared by verify gives ``|a - b| / sqrt(2) * d`` (d: :func:`divisor`, so
    a mean over K folds speaks for one fold); the numbers of one kind (:func:`metric_kind`,
    e.g. every row's ``macro_f1_mean``) are pooled by root mean square. Writes the result to
    ``out`` as JSON when given (``reports/metrics/rerun_noise.json`` is what verify reads).
    """
    run_a_dir, run_b_dir = Path(run_a_dir), Path(run_b_dir)
    names = _metric_names((p.name for p in run_a_dir.glob("*.json")),
                          (p.name for p in run_b_dir.glob("*.json")))
    pooled: dict[str, list[float]] = {}
    units_seen: dict[str, int] = {}
    for name in names:
        a_data, b_data = _read(run_a_dir)(name), _read(run_b_dir)(name)
        if a_data is None or b_data is None:
            continue
        a_flat, b_flat = _flatten(a_data), _flatten(b_data)
        units = _file_units(a_data)
        for key in sorted(set(a_flat) & set(b_flat)):
            a, b = a_flat[key], b_flat[key]
            if _ignored(key) or _exact(key) or not (_number(a) and _number(b)) \
                    or math.isnan(a) or math.isnan(b):
                continue
            kind = metric_kind(name, key)
            pooled.setdefault(kind, []).append(
                ((a - b) / math.sqrt(2) * divisor(key, a_flat, units)) ** 2)
            units_seen[kind] = units
    sigma = {kind: {"sigma": math.sqrt(sum(v) / len(v)), "pairs": len(v),
                    "units": units_seen[kind]}
             for kind, v in sorted(pooled.items())}
    result = {
        "about": "rerun noise per unit (one outer fold's value) by metric kind, from two "
                 "honest reruns: sigma = RMS over the kind's numbers of |a - b| / sqrt(2) * d "
                 "(d = sqrt(K) for a mean over K folds, sqrt(K - 1) for their sd, 1 for one "
                 "fold's value); read by `gansemble verify` (gansemble_lib/reporting/verify.py)",
        "runs": [str(run_a_dir), str(run_b_dir)],
        "note": note,
        "sigma_unit": sigma,
    }
    if out is not None:
        Path(out).write_text(json.dumps(result, indent=1, sort_keys=False) + "\n",
                             encoding="utf-8")
    return result


# --------------------------------------------------------------------------- the command

def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def summary(checks: list[Check]) -> str:
    numbers = [c for c in checks if not c.statement]
    said = [c for c in checks if c.statement]
    near = [c for c in said if c.borderline]
    return (f"{sum(c.agrees for c in numbers)} of {len(numbers)} numbers agree; "
            f"{sum(c.agrees for c in said)} of {len(said)} statements hold, {len(near)} "
            f"borderline ({sum(not c.agrees for c in near)} of them changed)")


def print_table(title: str, checks: list[Check], *, only_disagreeing: bool = False,
                out=sys.stdout) -> None:
    shown = [c for c in checks if c.disagrees] if only_disagreeing else checks
    print(f"\n## {title}: {summary(checks)}", file=out)
    if shown:
        print("| metric | committed | reproduced | tolerance | agrees |", file=out)
        print("| --- | ---: | ---: | ---: | --- |", file=out)
        for c in shown:
            tol = "equal" if c.tolerance is None else f"±{c.tolerance:.3g}"
            if c.tolerance is not None and c.basis == UNCALIBRATED:
                tol += " (uncalibrated)"
            agrees = "yes" if c.agrees else "borderline" if c.borderline else "NO"
            print(f"| {c.metric} | {_cell(c.committed)} | {_cell(c.reproduced)} | {tol} | "
                  f"{agrees} |", file=out)
    near = [c for c in checks if c.borderline]
    if near:
        print("\nborderline statements (within the band of their threshold in either run; a "
              "change is not counted as a disagreement):", file=out)
        for c in near:
            what = (f"held ({_cell(c.committed)})" if c.agrees else
                    f"CHANGED: {_cell(c.committed)} -> {_cell(c.reproduced)}")
            print(f"- {c.metric.removeprefix('statement: ')}: {what}; {c.basis}", file=out)
    said = [c for c in checks if c.statement]
    print(f"statements (verdicts, chosen strategies, gates, emptied filters): "
          f"{sum(c.agrees for c in said)} of {len(said)} still hold", file=out)


def params_changed(ref: str, root: Path) -> list[str]:
    """``dvc params diff`` against ``ref``: the keys whose value differs."""
    result = subprocess.run([sys.executable, "-m", "dvc", "params", "diff", ref, "--json"],
                            cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        return [f"(dvc params diff failed: {result.stderr.strip()[:200]})"]
    diff = json.loads(result.stdout or "{}")
    return [f"{key} ({change.get('old')} -> {change.get('new')})"
            for changes in diff.values() for key, change in changes.items()]


def _reproduced_dataset(folder: Path, ref: str, root: Path) -> bool:
    """Whether a dataset result set in the working tree is a rerun (its run record changed)."""
    relative = (folder / "run.json").resolve().relative_to(root.resolve())
    committed = committed_json(relative, ref, root)
    current = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    return committed != current


def _dataset_available(folder: Path, root: Path) -> tuple[bool, str]:
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    missing = [s["path"] for s in run.get("sources", []) if not (root / s["path"]).exists()]
    return (not missing, f"its data are not here ({missing[0]})" if missing else "")


def _basis(noises: list[Noise], checks: list[Check]) -> str:
    numbers = [c for c in checks if c.sigma is not None]
    calibrated = sum(c.basis == CALIBRATED for c in numbers)
    uncalibrated = sum(c.basis == UNCALIBRATED for c in numbers)
    floor = sum(c.basis == RESOLUTION for c in numbers)
    sources = sorted({n.source for n in noises if n})
    parts = []
    if calibrated:
        parts.append(f"{calibrated} calibrated from {', '.join(sources)}")
    if uncalibrated:
        parts.append(f"{uncalibrated} UNCALIBRATED (no {NOISE_FILE} entry: the spread between "
                     "folds, sd/sqrt(K), stands in for rerun noise)")
    if floor:
        parts.append(f"{floor} at the floor of one held-out sample")
    return "; ".join(parts) or "no numbers with a tolerance"


def verify_settings(root: str | Path = ".") -> VerifyParams:
    """The `verify` section of ``root``'s params.yaml; its defaults when the file has none."""
    path = Path(root) / "params.yaml"
    return load_params(path, "verify") if path.is_file() else DEFAULTS


def verify(*, ref: str = "HEAD", root: str | Path = ".", committed_dir: str | Path | None = None,
           show_all: bool = False, out=sys.stdout) -> int:
    """Check the default result set and every rerun dataset result set.

    Returns the exit status: 0 all agree, 1 something disagrees, 2 nothing to compare (nothing
    was rerun, or not a git checkout).
    """
    from ..data.import_data import dvc_data_clean

    root = Path(root)
    problem = git_problem(root, ref) if committed_dir is None else None
    if problem:
        print(problem, file=out)
        return 2
    default = root / "reports" / "metrics"
    sets: list[tuple[str, Path]] = []
    if unchanged(default, ref=ref, root=root, committed_dir=committed_dir):
        where = f"in {committed_dir}" if committed_dir is not None else "committed"
        print(f"nothing was rerun: the metrics in reports/metrics are the {where} ones (run "
              "`make reproduce` first)", file=out)
    else:
        sets.append(("default dataset (reports/metrics)", default))
    datasets = root / "reports" / "datasets"
    for folder in sorted(p for p in datasets.iterdir() if (p / "run.json").is_file()) \
            if datasets.is_dir() and committed_dir is None else []:
        available, why = _dataset_available(folder, root)
        if not _reproduced_dataset(folder, ref, root):
            print(f"\n## dataset {folder.name}: skipped, not rerun in this checkout"
                  + (f" and {why}" if not available else
                     f" (`make reproduce-{folder.name}`, then `make verify`)"), file=out)
            continue
        sets.append((f"dataset {folder.name}", folder / "metrics"))
    if not sets:
        print("\nverify: nothing to compare (exit 2)", file=out)
        return 2
    ok = True
    if committed_dir is None:
        clean = dvc_data_clean(root / "data.dvc")
        print(f"raw data: {'equal to' if clean else 'DIFFERENT from'} the hash data.dvc "
              "records (exact)", file=out)
        changed = params_changed(ref, root)
        print("parameters: " + ("the committed ones (dvc params diff: none)" if not changed
                                else "CHANGED since the committed run (not a reproduction): "
                                + ", ".join(changed)), file=out)
        ok &= clean and not changed
    pending = [(title, _against_pending(d, Path(committed_dir)) if committed_dir is not None
                else _metrics_pending(d, ref=ref, root=root)) for title, d in sets]
    m = sum(p.m for _, p in pending)
    settings = verify_settings(root)
    z = z_familywise(m, settings.alpha)
    everything: list[Check] = []
    for title, p in pending:
        checks = p.checks(z, settings)
        everything += checks
        print_table(title, checks, only_disagreeing=not show_all, out=out)
        ok &= not any(c.disagrees for c in checks)
    print(f"\nverify: {'AGREES' if ok else 'DISAGREES'} with the committed results: "
          f"{summary(everything)}", file=out)
    print(f"tolerance: z = {z:.2f} (family-wise, alpha = {settings.alpha:g} over {m} numbers) "
          "x the sd "
          f"a rerun's difference can have, at least one held-out sample; basis: "
          f"{_basis([p.noise for _, p in pending], everything)}", file=out)
    return 0 if ok else 1


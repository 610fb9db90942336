"""The replicates design: its verdicts, the smallest decidable effect, seeds and fresh test sets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gansemble_lib.core.constants import SPLIT, TEST
from gansemble_lib.core.errors import DataError
from gansemble_lib.core.params_io import from_mapping
from gansemble_lib.core.profiles import profile_params
from gansemble_lib.data.prepare import prepare
from gansemble_lib.data.replicates import draw_replicate
from gansemble_lib.data.simulate import SimulationConfig
from gansemble_lib.data.simulated_raw import write_dataset
from gansemble_lib.data.units import (
    SEED_STRIDE,
    fresh_test_counts,
    replicate_names,
    resolve_design,
    unit_seed,
    with_unit_seed,
)
from gansemble_lib.evaluation import crossval

ROPE, DECISION = 0.02, 0.95


def _scores(diffs: np.ndarray, base: float = 0.8) -> pd.DataFrame:
    units = [f"rep{i:02d}" for i in range(len(diffs))]
    frame = pd.DataFrame({crossval.FOLD: units * 2,
                          crossval.ROW: ["real only"] * len(units) + ["method"] * len(units),
                          "macro_f1": [base] * len(units) + list(base + diffs)})
    frame[crossval.MINORITY_RECALL] = frame["macro_f1"]
    return frame


def _exact(mean: float, sd: float, n: int, seed: int = 1) -> np.ndarray:
    """n values with exactly this mean and sample sd."""
    z = np.random.default_rng(seed).standard_normal(n)
    return mean + sd * (z - z.mean()) / z.std(ddof=1)


def _verdict(diffs: np.ndarray, independent: bool = True) -> str:
    table = crossval.verdict_table(_scores(diffs), rope=ROPE, decision=DECISION, runs=1,
                                   baseline="real only", independent=independent)
    return table.loc["method", "verdict"]


def test_a_real_gain_over_forty_replicates_is_better():
    assert _verdict(_exact(0.05, 0.03, 40)) == crossval.BETTER
    # the control: the same gain over five outer folds cannot be decided
    assert _verdict(_exact(0.05, 0.03, 5), independent=False) == crossval.UNDECIDED


def test_no_effect_with_a_small_spread_is_practically_equivalent():
    assert _verdict(_exact(0.0, 0.01, 40)) == crossval.EQUIVALENT
    assert _verdict(_exact(0.0, 0.03, 5)) == crossval.UNDECIDED  # too few to say


def test_the_independent_posterior_is_baycomp_with_zero_correlation():
    diffs = _exact(0.03, 0.02, 12)
    mine = crossval.independent_ttest(diffs, rope=ROPE)
    posterior = stats.t(df=11, loc=diffs.mean(), scale=diffs.std(ddof=1) / np.sqrt(12))
    assert mine[2] == pytest.approx(posterior.sf(ROPE))
    # and the correlated test's scale reduces to it as the folds grow without bound
    assert crossval.posterior_scale(0.03, 12, independent=True) < crossval.posterior_scale(
        0.03, 12, runs=1)


@pytest.mark.parametrize(("n", "sd", "independent"),
                         [(5, 0.03, True), (10, 0.03, True), (40, 0.03, True),
                          (20, 0.05, True), (5, 0.03, False)])
def test_the_smallest_decidable_effect_matches_a_simulation(n, sd, independent):
    """At the formula's effect, about half of many simulated studies say "better"; find the
    effect where exactly half do and compare (within 10 %)."""
    formula = crossval.smallest_decidable(sd, n, rope=ROPE, decision=DECISION,
                                          independent=independent)
    rng = np.random.default_rng(7)
    noise = rng.standard_normal((20_000, n)) * sd
    means, sds = noise.mean(axis=1), noise.std(axis=1, ddof=1)
    scale = np.array([crossval.posterior_scale(s, n, independent=independent) for s in sds])
    t = stats.t.ppf(DECISION, n - 1)

    def share_better(effect: float) -> float:
        return float(np.mean(means + effect - t * scale > ROPE))

    low, high = 0.0, 1.0
    for _ in range(40):  # the effect at which half the studies decide "better"
        mid = (low + high) / 2
        low, high = (mid, high) if share_better(mid) < 0.5 else (low, mid)
    assert low == pytest.approx(formula, rel=0.10)
    assert share_better(formula * 0.5) < 0.2  # the control: half the effect is rarely decided


def test_every_row_reports_its_smallest_decidable_effect():
    table = crossval.verdict_table(_scores(_exact(0.01, 0.03, 5)), rope=ROPE,
                                   decision=DECISION, runs=1, baseline="real only",
                                   independent=True)
    expected = ROPE + stats.t.ppf(DECISION, 4) * 0.03 / np.sqrt(5)
    assert table.loc["method", "smallest_decidable"] == pytest.approx(expected, rel=1e-6)


def test_no_two_units_share_a_seed_of_any_component():
    laptop = profile_params("laptop")
    designs = {"replicates": replicate_names(40),  # (the two designs never share a run)
               "cv": [f"r{r}f{k}" for r in range(10) for k in range(20)]}
    for design, units in designs.items():
        for section, values in laptop.items():
            if not hasattr(values, "seed"):
                continue
            ranges = sorted((unit_seed(values.seed, u), unit_seed(values.seed, u) + SEED_STRIDE)
                            for u in units)
            # a stage uses seed .. seed + i for small i: the units' ranges must not overlap
            assert all(a[1] <= b[0] for a, b in zip(ranges, ranges[1:], strict=False)), (
                design, section)
            assert ranges[0][0] > values.seed  # no unit uses the unshifted seed
    assert with_unit_seed({"seed": 3, "lr": 0.1}, "rep02") == {"seed": 3 + 3 * SEED_STRIDE,
                                                               "lr": 0.1}
    assert with_unit_seed({"seed": 3}, "split") == {"seed": 3}  # one split: the given seed


def test_the_design_is_replicates_only_for_simulated_data():
    assert resolve_design("auto", simulated=True) == "replicates"
    assert resolve_design("auto", simulated=False) == "cv"
    with pytest.raises(DataError, match="simulator"):
        resolve_design("replicates", simulated=False)


def test_test_counts_keep_the_proportions_with_the_smallest_class_at_the_minimum():
    counts = fresh_test_counts({"a": 5, "b": 19, "c": 38}, 100)
    assert counts == {"a": 100, "b": 380, "c": 760}


@pytest.fixture(scope="module")
def replicates(tmp_path_factory):
    root = tmp_path_factory.mktemp("replicates")
    counts = {"PET": 6, "PE": 9, "PP": 12}
    write_dataset(root / "raw", SimulationConfig(class_counts=counts, points=300))
    params = from_mapping("prepare", {"axis_points": 128, "baseline": "rolling_min",
                                      "image_size": 32})
    evaluation = from_mapping("evaluation", {"replicates": 3, "replicate_test_min": 4})
    prepare(root / "raw", root / "prepared", params, modality="spectra", evaluation=evaluation)
    units = replicate_names(3)
    return root, counts, {u: draw_replicate(u, root / "prepared", root / u) for u in units}


def _load(path):
    spectra = np.load(path / "spectra.npz")["spectra"]
    manifest = pd.read_csv(path / "manifest.csv")
    return spectra, manifest


def test_each_replicate_is_a_new_dataset_with_its_own_fresh_test_set(replicates):
    root, counts, drawn = replicates
    info = json.loads((root / "prepared" / "info.json").read_text())
    assert info["design"] == "replicates" and info["folds"] == list(drawn)
    rows = {u: _load(p) for u, p in drawn.items()}
    seeds = set()
    for unit, (_, manifest) in rows.items():
        meta = json.loads((drawn[unit] / "info.json").read_text())
        seeds.add(meta["simulation"]["seed"])
        test = manifest[SPLIT] == TEST
        # the test part: the dataset's proportions, the smallest class at the minimum
        assert manifest[test]["label"].value_counts().to_dict() == fresh_test_counts(counts, 4)
        # the rest: every spectrum of a dataset of the same class counts, in train or val
        assert manifest[~test]["label"].value_counts().to_dict() == counts
        assert set(manifest[~test][SPLIT]) <= {"train", "val", "unused"}
    assert len(seeds) == 3  # each replicate under its own simulator seed
    # no fresh test spectrum repeats a training or validation spectrum of any replicate, and
    # the replicates' datasets differ from each other
    seen = {u: {r.tobytes() for r in np.round(s[m[SPLIT] != TEST], 4)} for u, (s, m) in
            rows.items()}
    for unit, (spectra, manifest) in rows.items():
        tested = {r.tobytes() for r in np.round(spectra[manifest[SPLIT] == TEST], 4)}
        for other in rows:
            assert not tested & seen[other], (unit, other)
            if other != unit:
                assert not seen[unit] & seen[other]


def test_drawing_a_replicate_is_reproducible(replicates, tmp_path):
    root, _, drawn = replicates
    again = draw_replicate("rep01", root / "prepared", tmp_path / "rep01")
    first, second = _load(drawn["rep01"]), _load(again)
    np.testing.assert_allclose(first[0], second[0], atol=1e-6)
    pd.testing.assert_frame_equal(first[1], second[1])
    with pytest.raises(DataError, match="no replicate"):
        draw_replicate("rep07", root / "prepared", tmp_path / "rep07")


def test_the_first_look_judges_only_the_first_replicates():
    """40 replicates whose first 20 show a clear gain and whose last 20 show none: the first
    look says better, the whole run does not; rows left out stay out."""
    diffs = np.concatenate([_exact(0.06, 0.01, 20), _exact(-0.06, 0.01, 20, seed=2)])
    scores = _scores(diffs)
    oracle = scores[scores[crossval.ROW] == "method"].assign(**{crossval.ROW: "oracle"})
    scores = pd.concat([scores, oracle], ignore_index=True)
    units = [f"rep{i:02d}" for i in range(20)]
    look = crossval.first_look(scores, units, excluded={"oracle"}, families={}, rope=ROPE,
                               decision=DECISION)
    assert look["replicates"] == 20 and look["units"] == units
    assert look["rows"]["method"]["verdict"] == crossval.BETTER
    assert look["rows"]["method"]["diff_mean"] == pytest.approx(0.06)
    assert "oracle" not in look["rows"] and look["spectrum_classifiers"]["rows"] == {}
    whole = crossval.verdict_table(scores[scores[crossval.ROW] != "oracle"], rope=ROPE,
                                   decision=DECISION, runs=1, independent=True)
    assert whole.loc["method", "verdict"] != crossval.BETTER  # the control
    with pytest.raises(ValueError, match="cannot judge"):
        crossval.first_look(scores, units[:1], excluded=set(), families={}, rope=ROPE,
                            decision=DECISION)
    with pytest.raises(ValueError, match="rep99"):
        crossval.first_look(scores, ["rep00", "rep99"], excluded=set(), families={},
                            rope=ROPE, decision=DECISION)

"""The generator gate: validity against a label-shuffled null, diversity against real data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from gansemble_lib.core.config import GateParams
from gansemble_lib.evaluation import across_units, crossval, gate
from gansemble_lib.evaluation import paper_table as pt

MARGINS = GateParams()  # params.yaml's gate section at its defaults


def _gate(*args, **kwargs) -> dict:
    return gate.gate(*args, margins=MARGINS, **kwargs)

LABELS = np.repeat(np.arange(10), 20)


def test_a_generator_that_ignores_its_label_fails_whatever_its_judge_says():
    rng = np.random.default_rng(0)
    ignores = rng.integers(0, 10, len(LABELS))  # predictions unrelated to the conditioning
    record = _gate(ignores, LABELS, reference=1.0, spread_ratio=1.0, judge="test")
    assert record["validity_null"] == pytest.approx(0.1, abs=0.03)
    assert not record["learnt_classes"] and record["status"] == gate.NO_CLASSES


def test_a_generator_that_learnt_its_classes_but_collapsed_is_marked_collapsed():
    record = _gate(LABELS.copy(), LABELS, reference=1.0, spread_ratio=0.2, judge="test")
    assert record["learnt_classes"] and record["validity"] == 1.0
    assert record["status"] == gate.COLLAPSED
    both = _gate(np.zeros_like(LABELS), LABELS, reference=1.0, spread_ratio=0.1, judge="t")
    assert both["status"] == f"{gate.NO_CLASSES}; {gate.COLLAPSED}"


def test_validity_must_cover_half_the_gap_from_the_null_to_real_data():
    right = np.where(np.arange(len(LABELS)) % 10 < 5, LABELS, (LABELS + 1) % 10)  # 50 % right
    passes = _gate(right, LABELS, reference=0.8, spread_ratio=1.0, judge="t")
    assert passes["status"] == gate.PASSED  # 0.5 >= 0.1 + 0.5 * (0.8 - 0.1)
    fails = _gate(right, LABELS, reference=1.0, spread_ratio=1.0, judge="t")
    assert fails["status"] == gate.NO_CLASSES  # 0.5 < 0.1 + 0.5 * (1.0 - 0.1)


def test_a_gate_without_samples_or_reference_data_says_it_cannot_measure():
    record = _gate(np.zeros(0, int), np.zeros(0, int), reference=1.0, spread_ratio=1.0,
                       judge="t")
    assert record["status"] == gate.NOT_MEASURABLE and record["validity"] is None
    assert _gate(LABELS, LABELS, reference=float("nan"), spread_ratio=1.0,
                     judge="t")["status"] == gate.NOT_MEASURABLE


def test_a_generator_with_rows_but_no_gate_record_is_not_gated_rather_than_passed(tmp_path):
    _fold_gate(tmp_path, "r0f0", "vae", gate.PASSED, 0.95)
    table = across_units.gate_table(tmp_path, ["r0f0", "r0f1"], ["vae", "spectrum"])
    assert table.loc["vae", "status"] == f"{gate.NOT_GATED} in 1 of 2 folds"
    failed = across_units.failed_generators(table, ["vae", "spectrum"])
    assert failed["spectrum"] == gate.NOT_GATED and "vae" in failed


def _fold_gate(root, fold, generator, status, validity):
    folder = root / fold / "reports" / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    name = "03b_vae.json" if generator == "vae" else f"03_{generator}.json"
    record = {"validity": validity, "validity_null": 0.1, "validity_real": 1.0,
              "diversity": 0.9, "status": status, "judge": "j"}
    (folder / name).write_text(json.dumps({"gate": record}))


def test_across_folds_a_generator_passes_only_when_it_passed_in_every_fold(tmp_path):
    for fold, status in (("r0f0", gate.PASSED), ("r0f1", gate.NO_CLASSES)):
        _fold_gate(tmp_path, fold, "mpcgan_aug", status, 0.2)
        _fold_gate(tmp_path, fold, "vae", gate.PASSED, 0.95)
    table = across_units.gate_table(tmp_path, ["r0f0", "r0f1"], ["mpcgan_aug", "modern_aug", "vae"])
    assert list(table.index) == ["mpcgan_aug", "vae"]  # modern_aug was not trained
    assert table.loc["mpcgan_aug", "status"] == f"{gate.NO_CLASSES} (1 of 2 units)"
    assert table.loc["vae", "status"] == gate.PASSED and table.loc["vae", "folds_passed"] == 2
    assert across_units.failed_generators(table) == {"mpcgan_aug": table.loc["mpcgan_aug",
                                                                         "status"]}


@pytest.mark.parametrize(("row", "generator"), [
    ("mpcgan_aug + symp filter", "mpcgan_aug"), ("mpcgan_aug (no filter)", "mpcgan_aug"),
    ("mpcgan_aug + symp filter + ordinary augmentation", "mpcgan_aug"),
    ("TSTR: mpcgan_aug + symp filter only", "mpcgan_aug"),
    ("modern_spec (no filter)", "modern_spec"),
    ("logistic regression (spectra) + vae (no filter), decoded", "vae"),
    ("1-D CNN (spectra) + mpcgan_aug + symp filter, decoded", "mpcgan_aug"),
    ("1-D CNN (spectra) + SMOTE spectra", None), ("real only", None),
    ("spectral augmentation (the chooser's best of 16-18)", None)])
def test_every_row_knows_whose_samples_it_uses(row, generator):
    """The record made with each row (stage 06) names the generator whose samples it uses."""
    from gansemble_lib.evaluation import downstream as ds
    from gansemble_lib.evaluation import spectrum_rows as spectra_rows

    images, labels = np.zeros((4, 1, 8, 8), np.uint8), np.array([0, 1, 0, 1])
    sets = {key: (images, labels) for key in (
        ("augmentation", "none"), ("smote", "none"), ("mpcgan_aug", "none"),
        ("mpcgan_aug", "symp"), ("modern_spec", "none"), ("vae", "none"))}
    chosen = {"strategy": 1, "n": 4, "spectral": {"strategy": 16, "n": 4}}
    rows = ds.build_rows(sets, labels, chosen=chosen, n_classes=2,
                         tstr_source="mpcgan_aug__symp", combo_sources=("mpcgan_aug__symp",))
    records = {r.name: r.info for r in rows}
    records |= {r.name: r for r in spectra_rows.spectrum_records({
        "SMOTE spectra": ("smote", "none"), "vae (no filter), decoded": ("vae", "none"),
        "mpcgan_aug + symp filter, decoded": ("mpcgan_aug", "symp")})}
    assert records[row].generator == generator


def test_the_conclusion_speaks_apart_about_rows_of_failed_generators():
    table = pd.DataFrame({"verdict": ["undecided", "practically equivalent", "worse"],
                          "diff_mean": [0.01, 0.0, -0.1]},
                         index=["vae (no filter)", "mpcgan_aug + symp filter",
                                "random oversampling"])
    text = crossval.conclusion(table, synthetic_rows=list(table.index[:2]),
                               baseline_rows=["random oversampling"], rope=0.02, folds=5,
                               repeats=1, decision=0.95,
                               failed_rows={"mpcgan_aug + symp filter": gate.NO_CLASSES})
    working, failed = text.split("FAILED the gate")
    assert "vae (no filter)" in working and "mpcgan_aug" not in working
    assert "mpcgan_aug + symp filter" in failed


def test_the_paper_table_takes_the_top_three_distinct_strategies_at_their_best_n():
    scores = pd.DataFrame({"strategy": [0, 7, 7, 4, 16, 1], "n": [20, 20, 40, 20, 40, 20],
                           "macro_f1_mean": [0.99, 0.9, 0.95, 0.93, 0.94, 0.5],
                           "failed": [0, 0, 0, 0, 0, 0]})
    assert pt.top_strategies(scores, metric="macro_f1", top=3) == [(7, 40), (16, 40), (4, 20)]


def test_symp_generate_keeps_the_lowest_ink_of_each_pool():
    def generate(k, n, seed):  # images whose ink grows with a per-image number
        rng = np.random.default_rng(seed)
        level = rng.integers(0, 255, n)
        return np.broadcast_to(level[:, None, None, None], (n, 1, 4, 4)).astype(np.uint8)

    filtered = pt.symp_generate(generate, pool_size=10, keep=2, region="whole",
                                corner_fraction=0.25, direction="low")
    out = filtered(0, 5, seed=1)
    assert out.shape == (5, 1, 4, 4)
    from gansemble_lib.evaluation.symp_filter import pool_seed

    expected = []  # per pool of 10, the 2 lightest (low ink = high raw values), in pool order
    for r in range(3):
        levels = generate(0, 10, pool_seed(1, 0, r))[:, 0, 0, 0]
        lightest = set(np.argsort(-levels.astype(int), kind="stable")[:2])
        expected += [levels[i] for i in range(10) if i in lightest]
    assert out[:, 0, 0, 0].tolist() == expected[:5]


def test_mode_seeking_compares_each_image_with_its_partner_half_a_batch_on():
    """Pairs (i, i + half) of a batch of 7 with known distances: images 0-2 are 0 and 3-5 are
    2, 2, 2 (pixel distance 2 each); noise 0-2 is 0 and 3-5 is 1, 2, 4 (noise distances 1, 2,
    4). The penalty is 1 / (mean(2/1, 2/2, 2/4) + 1e-5); the unpaired 7th image is left out."""
    import torch

    from gansemble_lib.generators import gan_training as gt

    generated = torch.zeros(7, 1, 2, 2)
    generated[3:6] = 2.0
    generated[6] = 1000.0  # unpaired: any use of it would move the result far
    z = torch.zeros(7, 3)
    z[3:6] = torch.tensor([1.0, 2.0, 4.0])[:, None]
    z[6] = 50.0
    expected = 1.0 / ((2 / 1 + 2 / 2 + 2 / 4) / 3 + 1e-5)
    assert gt.mode_seeking_penalty(generated, z).item() == pytest.approx(expected, rel=1e-6)
    # the same pairs in an even batch (the 7th dropped) give the same value
    assert gt.mode_seeking_penalty(generated[:6], z[:6]).item() == pytest.approx(expected,
                                                                                rel=1e-6)
    # identical images for different noise: the penalty explodes (collapse)
    same = gt.mode_seeking_penalty(torch.zeros(6, 1, 2, 2), torch.randn(6, 3))
    assert same > 1e4


@pytest.mark.parametrize("batch_size", [6, 7])
def test_the_hinge_step_pairs_labels_for_the_mode_seeking_term(batch_size, monkeypatch):
    """In a hinge step with the mode-seeking term, the generator's batch has the same labels in
    its first and second halves (different noise), and the penalty gets that batch: every pair
    it compares shares a label, for even and odd batch sizes."""
    import torch
    from torch import nn

    from gansemble_lib.generators import gan_training as gt

    class Recorder(nn.Module):  # a generator whose image says its label; records its inputs
        def __init__(self):
            super().__init__()
            self.bias, self.calls = nn.Parameter(torch.zeros(1)), []

        def forward(self, z, y):
            self.calls.append((z.detach().clone(), y.clone()))
            return (y.float()[:, None, None, None] + self.bias + 0 * z[:, :1, None, None]
                    ).expand(-1, 1, 2, 2)

    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(1))

        def forward(self, x, y):
            return x.mean(dim=(1, 2, 3)) * self.weight

    penalised = []
    original = gt.mode_seeking_penalty

    def spy(generated, z):
        penalised.append((generated.detach().clone(), z.detach().clone()))
        return original(generated, z)

    monkeypatch.setattr(gt, "mode_seeking_penalty", spy)
    g, d = Recorder(), Critic()
    setup = gt.GanSetup(g, d, torch.optim.SGD(g.parameters(), lr=0.0),
                        torch.optim.SGD(d.parameters(), lr=0.0), recipe=gt.HINGE_RECIPE,
                        z_dim=4, n_classes=10, diversity_weight=1.0)
    labels = torch.arange(10)
    data = torch.zeros(10, 1, 2, 2)
    gt.hinge_step(setup, data, labels, batch_size, torch.Generator().manual_seed(0), step=1)
    assert len(g.calls) == 2  # the fakes for the critic, then the generator's own batch
    z, y = g.calls[-1]
    half = batch_size // 2
    assert torch.equal(y[:half], y[half:2 * half])  # the halves share labels
    assert len(set(y[:half].tolist())) > 1  # (and the labels are drawn, not constant)
    assert not torch.equal(z[:half], z[half:2 * half])  # with different noise
    (generated, z_penalised), = penalised
    assert torch.equal(z_penalised, z)
    assert torch.equal(generated[:half, 0, 0, 0], generated[half:2 * half, 0, 0, 0])


def test_the_margins_are_params_not_constants():
    """params.yaml's gate section decides: a looser bar passes what the default fails, a
    stricter diversity minimum fails what the default passes."""
    right = np.where(np.arange(len(LABELS)) % 10 < 5, LABELS, (LABELS + 1) % 10)  # 50 % right
    assert _gate(right, LABELS, reference=1.0, spread_ratio=1.0, judge="t")["status"] \
        == gate.NO_CLASSES
    looser = GateParams(validity_share=0.4)  # 0.5 >= 0.1 + 0.4 * (1.0 - 0.1)
    assert gate.gate(right, LABELS, reference=1.0, spread_ratio=1.0, judge="t",
                     margins=looser)["status"] == gate.PASSED
    stricter = GateParams(diversity_min=0.9)
    assert gate.gate(LABELS, LABELS, reference=1.0, spread_ratio=0.8, judge="t",
                     margins=stricter)["status"] == gate.COLLAPSED
    assert "40%" in gate.rules(looser) and "0.9x" in gate.rules(stricter)


def test_every_stage_that_gates_reads_the_gate_section():
    import yaml

    from tests.conftest import REPO

    stages = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    for name in ("folds", "evaluate"):  # 03, 03b and 05b run inside folds; 06b is evaluate
        assert {"gate.validity_share", "gate.diversity_min", "gate.null_shuffles"} <= set(
            stages[name]["params"]), name
    from gansemble_lib.core.params_io import borrowed_section

    assert borrowed_section("gate", GateParams(diversity_min=0.3)).diversity_min == 0.3

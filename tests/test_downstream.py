"""Downstream checks: metric agreement, the paired bootstrap, row recipes, the conclusion text."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import f1_score

from gansemble_lib.evaluation import downstream as ds
from gansemble_lib.evaluation import downstream_scores as scoring
from gansemble_lib.evaluation import rows as row_kinds
from gansemble_lib.evaluation import spectrum_rows as spectra_rows
from gansemble_lib.evaluation.classifiers import TrainSettings


def test_vectorised_macro_f1_matches_scikit_learn():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, 40)
    y_pred = rng.integers(0, 5, (3, 40))
    y_pred[1] = y_true
    expected = [f1_score(y_true, p, labels=list(range(6)), average="macro", zero_division=0)
                for p in y_pred]
    np.testing.assert_allclose(scoring.macro_f1_rows(y_true, y_pred, 6), expected)


def _predictions(rows, y_true, seeds=(0, 1, 2)):
    return pd.concat([pd.DataFrame({ds.ROW: name, ds.SEED: s, ds.SAMPLE: np.arange(len(y_true)),
                                    ds.Y_TRUE: y_true, ds.Y_PRED: pred(s)})
                      for name, pred in rows.items() for s in seeds], ignore_index=True)


def test_bootstrap_identical_rows_differ_by_zero_and_better_rows_exclude_zero():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(4), 15)
    noisy = {s: np.where(rng.random(len(y)) < 0.5, y, rng.integers(0, 4, len(y)))
             for s in range(3)}
    preds = _predictions({ds.REAL_ONLY: lambda s: noisy[s], "same": lambda s: noisy[s],
                          "perfect": lambda s: y}, y)
    table = scoring.paired_bootstrap(preds, n_classes=4, n_boot=300)
    assert table.loc["same", "diff_macro_f1"] == 0
    assert table.loc["same", ["ci_low", "ci_high"]].tolist() == [0, 0]
    assert not table.loc["same", "excludes_zero"]
    assert table.loc["perfect", "excludes_zero"] and table.loc["perfect", "ci_low"] > 0
    text = scoring.conclusion(table, synthetic_rows=["same", "perfect"])
    assert "Significant macro-F1 gains over real-only: perfect" in text


def test_conclusion_says_no_significant_gain_when_there_is_none():
    table = pd.DataFrame({"diff_macro_f1": [0.01, -0.2], "ci_low": [-0.05, -0.3],
                          "ci_high": [0.07, -0.1], "excludes_zero": [False, True]},
                         index=pd.Index(["cgan", "vae"], name=ds.ROW))
    text = scoring.conclusion(table, synthetic_rows=["cgan", "vae"])
    assert "no significant gain" in text and "Significantly worse than real-only: vae" in text
    table.loc["oversampling"] = [0.005, -0.02, 0.03, False]
    text = scoring.conclusion(table, synthetic_rows=["cgan", "vae"], baseline_rows=["oversampling"])
    assert "best data-only baseline without a generator is oversampling (+0.005)" in text
    assert "larger point estimate: cgan" in text


def test_class_weights_are_inverse_frequency():
    w = ds.class_weights(np.array([0, 0, 0, 1]), 3)
    assert w.tolist() == pytest.approx([4 / 9, 4 / 3, 0.0])


def test_row_recipes():
    x = np.zeros((4, 1, 8, 8), np.uint8)
    y = np.array([0, 0, 1, 1])
    extra = np.full((2, 1, 8, 8), 7, np.uint8)
    xs, ys = ds.training_data(ds.Row("gen", extra, np.array([1, 1])), x, y, seed=0)
    assert len(xs) == 6 and ys.tolist() == [0, 0, 1, 1, 1, 1]
    xs, ys = ds.training_data(ds.Row("tstr", extra, np.array([1, 1]), real=False), x, y, seed=0)
    assert (xs == 7).all() and len(xs) == 2
    xs, ys = ds.training_data(ds.Row("aug", augment_strategy=0, augment_target=5), x, y, seed=0)
    assert np.bincount(ys).tolist() == [5, 5]
    with pytest.raises(ValueError, match="no training data"):
        ds.training_data(ds.Row("empty", real=False), x, y, seed=0)


def _peaks(c, n):
    """n noisy copies of a single peak whose position depends on the class c."""
    axis = np.linspace(0, 1, 50)
    noise = 0.01 * np.random.default_rng(c + n).random((n, 50))
    return np.exp(-((axis - 0.2 - 0.5 * c) ** 2) / 0.002) + noise


def test_spectrum_classifiers_separate_clean_spectra_with_and_without_synthetic_ones():
    train = np.vstack([_peaks(0, 5), _peaks(1, 5)])
    test = np.vstack([_peaks(0, 3), _peaks(1, 3)])
    extra = {"copies": (np.vstack([_peaks(0, 4), _peaks(1, 4)]), np.repeat([0, 1], 4))}
    settings = TrainSettings(epochs=1, steps=60, batch_size=8, lr=0.01)
    preds = spectra_rows.spectrum_classifier_rows(
        train, np.repeat([0, 1], 5), test, np.repeat([0, 1], 3), seeds=[0, 1], extra=extra,
        settings=settings, n_classes=2, device=torch.device("cpu"), progress=False)
    rows = {"logistic regression (spectra)", "correlation 1-NN (spectra)", "1-D CNN (spectra)",
            "logistic regression (spectra) + copies", "1-D CNN (spectra) + copies"}
    assert set(preds[ds.ROW]) == rows
    logreg = preds[preds[ds.ROW].str.startswith("logistic") | preds[ds.ROW].str.startswith(
        "correlation")]
    assert (logreg[ds.Y_PRED] == logreg[ds.Y_TRUE]).all()
    assert preds.groupby(ds.ROW)["n_train"].first()["1-D CNN (spectra) + copies"] == 18
    records = {r.name: r for r in spectra_rows.spectrum_records({"copies": ("vae", "none")})}
    assert set(records) == rows  # every row the classifiers scored has its record
    assert row_kinds.spectrum_families(records) == {
        "logistic regression (spectra)": ["logistic regression (spectra) + copies"],
        "1-D CNN (spectra)": ["1-D CNN (spectra) + copies"]}
    assert records["1-D CNN (spectra) + copies"].generator == "vae"


def test_synthetic_spectra_are_native_where_the_source_has_them_else_decoded():
    from gansemble_lib.data.polar import PolarGeometry, render

    geometry = PolarGeometry(size=32)
    spectra = np.vstack([_peaks(0, 3), _peaks(1, 3)])
    images = render(spectra_rows.unit_spectra(spectra), geometry=geometry)
    labels = np.repeat([0, 1], 3)
    sets = {("smote", "none"): (images, labels), ("vae", "none"): (images, labels),
            ("vae", "symp"): (images, labels), ("mpcgan_aug", "symp"): (images, labels),
            ("augmentation", "none"): (images, labels), ("spectrum", "none"): (images[:0],
                                                                               labels[:0])}
    native = {("smote", "none"): spectra}
    out, dropped, origin = spectra_rows.spectrum_extra_sets(
        sets, native, geometry=geometry, points=50, combo_sources=("mpcgan_aug__symp",))
    assert dropped == {}
    assert origin == {"SMOTE spectra": ("smote", "none"),
                      "vae (no filter), decoded": ("vae", "none"),
                      "mpcgan_aug + symp filter, decoded": ("mpcgan_aug", "symp")}
    assert set(out) == {"SMOTE spectra", "vae (no filter), decoded",
                        "mpcgan_aug + symp filter, decoded"}  # no augmentation, no empty set
    np.testing.assert_allclose(out["SMOTE spectra"][0], spectra_rows.unit_spectra(spectra))
    decoded = out["vae (no filter), decoded"][0]
    assert decoded.shape == (6, 50)
    # read back from the picture, the peak is where it was
    assert np.abs(decoded.argmax(1) - spectra.argmax(1)).max() <= 2


def test_rows_are_deterministic_per_seed():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (12, 1, 16, 16), dtype=np.uint8)
    y = np.repeat([0, 1], 6)
    settings = TrainSettings(epochs=2, batch_size=4)
    kwargs = dict(seeds=[0, 1], classifier="lenet", size=16, settings=settings, n_classes=2,
                  device=torch.device("cpu"), progress=False)
    rows = [ds.Row(ds.REAL_ONLY), ds.Row("weighted", class_weighted=True)]
    a = ds.run_rows(rows, x, y, x, y, **kwargs)
    b = ds.run_rows(rows, x, y, x, y, **kwargs)
    assert (a[ds.Y_PRED] == b[ds.Y_PRED]).all()
    table = scoring.scores(a, 2)
    assert list(table.index) == [ds.REAL_ONLY, "weighted"]
    recall = scoring.per_class_recall(a, ("a", "b"))
    assert recall.shape == (2, 2) and ((recall >= 0) & (recall <= 1)).all().all()


def test_resnet18_loads_a_local_state_dict_and_adapts_to_gray(tmp_path):
    from torchvision.models import resnet18

    from gansemble_lib.evaluation.classifiers import make_classifier

    reference = resnet18(weights=None)
    path = tmp_path / "imagenet.pt"
    torch.save(reference.state_dict(), path)
    model = make_classifier("resnet18", in_channels=1, n_classes=4, size=32,
                            weights_path=str(path))
    assert torch.equal(model.layer1[0].conv1.weight, reference.layer1[0].conv1.weight)
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 4)


class CountingSGD(torch.optim.SGD):
    calls = 0

    def step(self, closure=None):
        CountingSGD.calls += 1
        return super().step(closure)


@pytest.mark.parametrize("n_images", [10, 37, 300])
def test_a_steps_budget_is_the_same_whatever_the_data_size(monkeypatch, n_images):
    from gansemble_lib.evaluation import classifiers

    monkeypatch.setattr(classifiers.torch.optim, "SGD", CountingSGD)
    CountingSGD.calls = 0
    x = torch.rand(n_images, 1, 8, 8)
    y = np.arange(n_images) % 2
    model = classifiers.LeNet(in_channels=1, n_classes=2, size=8)
    settings = TrainSettings(epochs=99, batch_size=8, optimizer="sgd", lr=0.01, steps=25)
    trained = classifiers.train_classifier(model, x, y, settings=settings, seed=0,
                                           device=torch.device("cpu"))
    assert CountingSGD.calls == 25 and trained.steps_taken == 25


def test_an_epochs_budget_grows_with_the_data():
    from gansemble_lib.evaluation import classifiers

    for n_images, expected in ((10, 3 * 2), (37, 3 * 5)):
        model = classifiers.LeNet(in_channels=1, n_classes=2, size=8)
        trained = classifiers.train_classifier(
            model, torch.rand(n_images, 1, 8, 8), np.arange(n_images) % 2,
            settings=TrainSettings(epochs=3, batch_size=8), seed=0, device=torch.device("cpu"))
        assert trained.steps_taken == expected


def test_metrics_record_keeps_the_table_order_that_json_would_sort_away():
    table = pd.DataFrame({"macro_f1_mean": [0.5, 0.6, 0.7]},
                         index=pd.Index(["real only", "zeta", "alpha"], name=ds.ROW))
    record = scoring.metrics_record(table, "none", minority=[], seeds=[0], classifier="lenet")
    assert record["row_order"] == ["real only", "zeta", "alpha"]

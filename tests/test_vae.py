"""Class VAEs (stage 03b): known KL values, exact interpolation ends, fair pairs, determinism,
exact resume after an interruption, the generator contract and the checkpoint round trip."""

import importlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from gansemble_lib.core.config import VaeParams
from gansemble_lib.core.errors import DataError
from gansemble_lib.core.params_io import from_mapping
from gansemble_lib.generators.interface import load_generator
from gansemble_lib.generators.training import load_checkpoint
from gansemble_lib.generators.vae import (
    PRIOR,
    ConvVae,
    VaeEnsemble,
    draw_pairs,
    from_checkpoint,
    interpolate,
    interpolation_examples,
    kl_divergence,
    kl_weight,
)
from gansemble_lib.generators.vae_training import (
    LOSS_COLUMNS,
    TRAINING_CODE,
    fingerprint,
    metrics_record,
    reconstruction_table,
    train_class_vaes,
)
from tests.conftest import REPO

CLASSES = ("a", "b", "c")
TINY = {"seed": 3, "latent_dim": 2, "width": 4, "epochs": 5, "batch_size": 2, "lr": 1e-2,
        "kl_warmup": 2, "beta": 1.0, "alpha_min": 0.0, "alpha_max": 1.0, "checkpoint_every": 2}


pytestmark = pytest.mark.usefixtures("one_thread")


def _toy_data(size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """White 16x16 images with a dark bar whose position depends on the class."""
    rng = np.random.default_rng(0)
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2])
    images = np.full((len(labels), 1, size, size), 255, np.uint8)
    for n, k in enumerate(labels):
        row = 3 + 4 * k + rng.integers(0, 2)
        images[n, 0, row, rng.integers(0, 4):size - rng.integers(0, 4)] = rng.integers(0, 60)
    return images, labels


def _train(path, on_epoch=None, **overrides):
    images, labels = _toy_data()
    params = VaeParams(**{**TINY, **overrides})
    return train_class_vaes(images, labels, CLASSES, params=params, checkpoint_path=path,
                            progress=False, on_epoch=on_epoch)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run: its result and its checkpoint's path."""
    path = tmp_path_factory.mktemp("vae") / "vae.pt"
    return _train(path), path


@pytest.fixture
def trained(reference):
    return reference[0]


@pytest.mark.parametrize("shape", [(1, 16, 16), (3, 17, 17), (1, 64, 64)])
def test_encoder_and_decoder_shapes(shape):
    model = ConvVae(image_shape=shape, latent_dim=5, width=4)
    mu, logvar = model.encode(torch.rand(2, *shape))
    assert mu.shape == logvar.shape == (2, 5)
    assert model.decode(mu).shape == (2, *shape)


def test_kl_is_zero_at_the_prior_and_matches_a_hand_computed_case():
    assert kl_divergence(torch.zeros(3, 4), torch.zeros(3, 4)).tolist() == [0.0] * 3
    # mu = (1, 2), variances (1, 4): 0.5 * [(1 + 1 - 1 - 0) + (4 + 4 - 1 - ln 4)]
    kl = kl_divergence(torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, math.log(4.0)]]))
    assert kl.item() == pytest.approx(0.5 * (1 + 7 - math.log(4.0)), rel=1e-6)
    random = kl_divergence(torch.randn(100, 3), torch.randn(100, 3))
    assert (random >= 0).all()


def test_kl_weight_warms_up_linearly_to_beta():
    assert [kl_weight(e, beta=2.0, warmup=4) for e in range(6)] == [0, 0.5, 1.0, 1.5, 2.0, 2.0]
    assert kl_weight(0, beta=0.5, warmup=0) == 0.5


def test_interpolation_ends_decode_exactly_to_the_two_reconstructions(trained):
    ensemble = trained.ensemble
    images, labels = _toy_data()
    recon = ensemble.reconstruct(images, labels)
    class_recon = recon[labels == 1]
    strip = ensemble.interpolation_strip(1, 0, 3, np.array([0.0, 0.5, 1.0]))
    assert np.array_equal(strip[0], class_recon[0])
    assert np.array_equal(strip[2], class_recon[3])
    z1, z2 = torch.randn(4, 3), torch.randn(4, 3)
    assert torch.equal(interpolate(z1, z2, torch.zeros(4)), z1)
    assert torch.equal(interpolate(z1, z2, torch.ones(4)), z2)


def test_pairs_are_distinct_and_no_image_is_favoured():
    first, second = draw_pairs(5, 50_000, np.random.default_rng(1))
    assert (first != second).all()
    for role in (first, second):
        assert np.allclose(np.bincount(role, minlength=5) / len(role), 0.2, atol=0.01)
    pairs = np.bincount(first * 5 + second, minlength=25).reshape(5, 5)
    assert np.allclose(pairs[~np.eye(5, dtype=bool)] / len(first), 1 / 20, atol=0.005)
    with pytest.raises(ValueError, match="needs two images"):
        draw_pairs(1, 3, np.random.default_rng(0))


def _labelled_ensemble(**kwargs) -> VaeEnsemble:
    """Untrained one-dimensional VAEs whose codes say which class they belong to."""
    models = [ConvVae(image_shape=(1, 16, 16), latent_dim=1, width=4) for _ in range(3)]
    codes = [(torch.tensor([[0.0], [1.0], [2.0]]), torch.zeros(3, 1)),
             (torch.tensor([[10.0], [11.0]]), torch.zeros(2, 1)),
             (torch.tensor([[20.0]]), torch.zeros(1, 1))]
    return VaeEnsemble(CLASSES, (1, 16, 16), models, codes, **kwargs)


def test_codes_interpolate_between_images_of_the_requested_class_only():
    ensemble = _labelled_ensemble(alpha_min=0.25, alpha_max=0.75)
    # Class 0's codes are 0, 1, 2 and class 1's are 10, 11: with alpha in [0.25, 0.75] a mix
    # stays a quarter of the way from either end of its pair's segment.
    for k, (low, high) in enumerate([(0.25, 1.75), (10.25, 10.75)]):
        z = ensemble.sample_codes(k, 500, seed=0)[:, 0]
        assert z.min() >= low - 1e-6 and z.max() <= high + 1e-6


def test_a_single_image_class_falls_back_to_its_posterior_with_a_warning():
    ensemble = _labelled_ensemble()
    assert ensemble.single_image_classes == (2,)
    with pytest.warns(UserWarning, match="one train image"):
        z = ensemble.sample_codes(2, 400, seed=0)[:, 0]
    assert abs(z.mean().item() - 20) < 0.2 and abs(z.std().item() - 1) < 0.15


def test_prior_sampling_ignores_the_codes():
    z = _labelled_ensemble(sampling=PRIOR).sample_codes(1, 2000, seed=0)[:, 0]
    assert abs(z.mean().item()) < 0.1 and abs(z.std().item() - 1) < 0.1


def test_generate_is_deterministic_and_honours_the_contract(trained):
    ensemble = trained.ensemble
    images = ensemble.generate(1, 6, seed=5)
    assert images.dtype == np.uint8 and images.shape == (6, 1, 16, 16)
    assert np.array_equal(images, ensemble.generate(1, 6, seed=5))
    assert not np.array_equal(ensemble.sample_codes(1, 6, 5), ensemble.sample_codes(1, 6, 6))
    assert not np.array_equal(ensemble.sample_codes(0, 6, 5), ensemble.sample_codes(1, 6, 5))
    assert ensemble.generate(0, 0, seed=1).shape == (0, 1, 16, 16)
    with pytest.raises(ValueError, match="class_index 3 is out of range"):
        ensemble.generate(3, 1, seed=0)


def test_load_generator_round_trip(reference):
    result, path = reference
    loaded = load_generator(path)
    assert loaded.classes == CLASSES and loaded.image_shape == (1, 16, 16)
    assert np.array_equal(loaded.generate(2, 4, seed=9), result.ensemble.generate(2, 4, seed=9))


class Interrupted(Exception):
    pass


# (class, epoch) after which the run "dies". Checkpoints fall at epochs 2 and 4 and after each
# class's last epoch (5): before any checkpoint, right after one, between two, in a class's
# last epoch (its end-of-class checkpoint not yet written), and early in a new class.
@pytest.mark.parametrize("stop", [(0, 1), (0, 4), (1, 3), (1, 5), (2, 1)])
def test_an_interrupted_run_resumes_to_identical_weights(reference, tmp_path, stop):
    def interrupt(class_index, epoch):
        if (class_index, epoch) == stop:
            raise Interrupted

    path = tmp_path / "vae.pt"
    with pytest.raises(Interrupted):
        _train(path, on_epoch=interrupt)
    resumed = _train(path)
    assert ("resumed" in resumed.status) == (stop != (0, 1))  # (0, 1): nothing saved yet
    expected, final = load_checkpoint(reference[1]), load_checkpoint(path)
    for expected_model, model in zip(expected["models"], final["models"], strict=True):
        assert expected_model.keys() == model.keys()
        assert all(torch.equal(expected_model[name], model[name]) for name in model)
    for expected_code, code in zip(expected["codes"], final["codes"], strict=True):
        assert torch.equal(expected_code["mu"], code["mu"])
    assert resumed.losses.rows == reference[0].losses.rows


def test_unfinished_checkpoint_is_refused_by_the_loader(tmp_path):
    path = tmp_path / "vae.pt"

    def interrupt(class_index, epoch):
        if (class_index, epoch) == (1, 3):
            raise Interrupted

    with pytest.raises(Interrupted):
        _train(path, on_epoch=interrupt)
    with pytest.raises(ValueError, match="unfinished run"):
        from_checkpoint(load_checkpoint(path))


def test_other_training_parameters_restart_but_sampling_changes_reuse(tmp_path):
    path = tmp_path / "vae.pt"
    _train(path)
    reused = _train(path, alpha_min=0.4, alpha_max=0.6)
    assert reused.status.startswith("re-used")
    assert reused.ensemble.alpha_min == 0.4
    assert load_checkpoint(path)["sampling"]["alpha_min"] == 0.4
    assert _train(path, lr=2e-2).status.startswith("trained from scratch (the old checkpoint")
    images, labels = _toy_data()
    base = fingerprint(images, labels, CLASSES, VaeParams(**TINY))
    assert base == fingerprint(images, labels, CLASSES, VaeParams(**{**TINY, "sampling": PRIOR}))
    assert base != fingerprint(images[::-1], labels, CLASSES, VaeParams(**TINY))


def test_an_edit_to_the_training_code_retrains_instead_of_reusing(tmp_path, monkeypatch):
    """models/vae persists between `dvc repro` runs: after an edit to the network, the loss or
    the loop, the finished checkpoint must not be re-used. The edit is real: the fingerprint
    reads an edited copy of the module's source file."""
    assert {"generators.vae", "generators.vae_training",
            "generators.training"} <= set(TRAINING_CODE)
    path = tmp_path / "vae.pt"
    assert _train(path, epochs=1).status == "trained from scratch"
    assert _train(path, epochs=1).status.startswith("re-used")  # no edit: no training
    for name in TRAINING_CODE:
        module = importlib.import_module(f"gansemble_lib.{name}")
        edited = tmp_path / name / Path(module.__file__).name
        edited.parent.mkdir()
        edited.write_text(Path(module.__file__).read_text() + "\nSCALE = 2.0  # an edit\n")
        with monkeypatch.context() as patch:
            patch.setattr(module, "__file__", str(edited))
            retrained = _train(path, epochs=1)
            assert retrained.status.startswith("trained from scratch (the old checkpoint"), name
            assert retrained.status.endswith("or code)")
            assert _train(path, epochs=1).status.startswith("re-used"), name


def test_a_class_without_train_images_is_refused(tmp_path):
    images, labels = _toy_data()
    with pytest.raises(ValueError, match="class 'd' has no train images"):
        train_class_vaes(images, labels, (*CLASSES, "d"), params=VaeParams(**TINY),
                         checkpoint_path=tmp_path / "vae.pt", progress=False)


def test_losses_and_metrics_are_complete_and_json_ready(trained):
    assert trained.losses.columns == ["step", *LOSS_COLUMNS]
    assert [row["step"] for row in trained.losses.rows] == list(range(1, 16))
    images, labels = _toy_data()
    table = reconstruction_table(trained.ensemble, {"train": (images, labels),
                                                   "val": (images[:4], labels[:4])})
    assert set(table["split"]) == {"train", "val"} and len(table) == 6
    record = metrics_record(table, train_seconds=1.0, stage_seconds=2.0, status="x",
                            single_image_classes=[])
    json.dumps(record, allow_nan=False)
    assert record["reconstruction_mse"]["val"]["c"] is None  # no val images of class c
    assert 0 <= record["reconstruction_mse"]["train"]["a"] <= 1


def test_reconstruction_error_is_zero_for_a_perfect_reconstruction(trained, monkeypatch):
    images, labels = _toy_data()
    monkeypatch.setattr(trained.ensemble, "reconstruct", lambda x, y: x)
    table = reconstruction_table(trained.ensemble, {"train": (images, labels)})
    assert (table["reconstruction_mse"] == 0).all()
    assert (table["mean_image_mse"] > 0).all()


def test_interpolation_examples_keep_the_real_ends(trained):
    images, labels = _toy_data()
    strips = interpolation_examples(trained.ensemble, images, labels, np.linspace(0, 1, 3), seed=0)
    assert list(strips) == list(CLASSES) and strips["a"].shape == (5, 1, 16, 16)
    assert any(np.array_equal(strips["b"][0], x) for x in images[labels == 1])


def test_alpha_range_and_bounds_are_validated():
    with pytest.raises(DataError, match="vae.alpha_min"):
        from_mapping("vae", {"alpha_min": 0.8, "alpha_max": 0.2})
    with pytest.raises(DataError, match="use one of: 'interpolate', 'prior'"):
        from_mapping("vae", {"sampling": "random"})
    with pytest.raises(DataError, match="vae.alpha_max"):
        from_mapping("vae", {"alpha_max": 1.5})
    assert from_mapping("vae", {"alpha_min": 0.5, "alpha_max": 0.5}).alpha_max == 0.5


def _interpolation_weights(generator, monkeypatch, n: int) -> torch.Tensor:
    """The weights ``a`` of every code that ``generate`` would decode, n per class, recorded
    where sampling mixes the two posterior means (and checked to be what it returned)."""
    import gansemble_lib.generators.vae as vae_module

    seen = []

    def spy(z1, z2, alpha):
        seen.append(alpha.double())
        return interpolate(z1, z2, alpha)

    with monkeypatch.context() as patch:
        patch.setattr(vae_module, "interpolate", spy)
        for k in range(len(CLASSES)):
            codes = generator.sample_codes(k, n, seed=k)
            assert len(seen) == k + 1 and len(seen[k]) == n == len(codes)
    return torch.cat(seen)


@pytest.mark.parametrize("low, high", [(0.1, 0.3), (0.5, 0.5), (0.6, 0.9)])
def test_alpha_min_and_max_bound_the_weights_that_sampling_uses(reference, tmp_path,
                                                                  monkeypatch, low, high):
    """The parameters reach sampling: through training (the re-used checkpoint) into the
    ensemble in memory and into the checkpoint that later stages load, and every weight drawn
    lies in [alpha_min, alpha_max] and spans it."""
    path = tmp_path / "vae.pt"
    path.write_bytes(reference[1].read_bytes())
    result = _train(path, alpha_min=low, alpha_max=high)
    assert result.status.startswith("re-used")  # sampling settings do not retrain
    for generator in (result.ensemble, load_generator(path)):
        alphas = _interpolation_weights(generator, monkeypatch, 2000)
        assert alphas.min() >= low - 1e-7 and alphas.max() <= high + 1e-7
        assert alphas.min() <= low + 0.01 and alphas.max() >= high - 0.01


@pytest.mark.parametrize("path", [
    "gansemble_lib/generators/vae.py", "gansemble_lib/generators/vae_training.py",
                                  "notebooks/03b_train_vae.py"])
def test_the_vae_stage_never_reads_the_test_split(path):
    assert "test_for_evaluation" not in (REPO / path).read_text(encoding="utf-8")

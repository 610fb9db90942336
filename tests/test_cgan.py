"""Stage 03 generators: architecture, conditioning, determinism, augmentation and resume.

Tiny models (a few channels, 16×16 images) keep every test but the subprocess resume test in
milliseconds; the one full-size model is only built to count its parameters.
"""

import importlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from gansemble_lib.augment.diffaugment import DiffAugment, parse_policy, translation
from gansemble_lib.core.config import CganParams, PrepareParams
from gansemble_lib.core.errors import DataError
from gansemble_lib.core.params_io import from_mapping
from gansemble_lib.data.polar import PolarGeometry, render_spectra
from gansemble_lib.evaluation import gan_checks
from gansemble_lib.generators import cgan, spectrum_gan
from gansemble_lib.generators.cgan_models import (
    ConditionalBatchNorm,
    ModernGenerator,
    MpcganDiscriminator,
    MpcganGenerator,
    ProjectionDiscriminator,
    build_image_models,
    count_parameters,
)
from gansemble_lib.generators.gan_training import (
    CHECKPOINT_FILE,
    GRIDS_DIR,
    TRAINING_CODE,
    update_ema,
)
from gansemble_lib.generators.interface import load_generator
from gansemble_lib.generators.training import load_checkpoint
from tests.conftest import REPO

CLASSES = ("a", "b", "c")
SHAPE = (1, 16, 16)
TINY = CganParams(steps=4, batch_size=4, z_dim=8, width=4, label_embedding=5,
                  checkpoint_every=2, grid_per_class=2, eval_per_class=2, spectrum_points=64)


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_images(n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (n, *SHAPE), dtype=np.uint8),
            np.arange(n) % len(CLASSES))


def tiny_spectra(n: int = 12) -> tuple[np.ndarray, np.ndarray, dict]:
    """Smooth spectra with one peak whose position depends on the class, and an info.json."""
    x = np.linspace(0, 1, 100)
    labels = np.arange(n) % len(CLASSES)
    spectra = np.exp(-((x[None] - 0.2 - 0.3 * labels[:, None]) / 0.03) ** 2) + 0.1 * x[None]
    info = {"modality": "spectra", "params": {"image_size": 16, "line_width": 1.0,
                                              "channels": 1}}
    return spectra, labels, info


def models(architecture: str):
    torch.manual_seed(0)
    return build_image_models(architecture, image_shape=SHAPE, n_classes=len(CLASSES), z_dim=8,
                              width=4, embedding=5, dropout=0.4)


def test_mpcgan_matches_the_keras_parameter_counts():
    # Keras: embedding 10*50 + dense 50*1024+1024 + dense 100*131072+131072
    # + convT 4*4*129*128+128 + convT 4*4*128*128+128 + conv 8*8*128*3+3
    g = MpcganGenerator(image_shape=(3, 128, 128), n_classes=10, z_dim=100, width=128)
    assert count_parameters(g) == pytest.approx(13_842_167, rel=0.01)
    d = MpcganDiscriminator(image_shape=(3, 128, 128), n_classes=10, width=128)
    assert count_parameters(d) == 500 + 50 * 16384 + 16384 + 4 * 9 * 128 + 128 + (
        128 * 128 * 9 + 128) + 32 * 32 * 128 + 1


@pytest.mark.parametrize("architecture", ["mpcgan", "modern"])
def test_output_shapes_and_ranges(architecture):
    g, d = models(architecture)
    z, y = torch.randn(5, 8), torch.tensor([0, 1, 2, 0, 1])
    x = g(z, y)
    assert x.shape == (5, *SHAPE) and x.min() >= -1 and x.max() <= 1
    assert d(x, y).shape == (5,)


def test_sizes_the_upsampling_cannot_reach_are_refused():
    with pytest.raises(ValueError, match="divisible by 8"):
        ModernGenerator(image_shape=(1, 20, 20), n_classes=2)
    with pytest.raises(ValueError, match="unknown architecture"):
        build_image_models("dcgan", image_shape=SHAPE, n_classes=2, z_dim=8, width=4,
                           embedding=5, dropout=0.4)


@pytest.mark.parametrize("architecture", ["mpcgan", "modern"])
def test_the_label_changes_the_image_for_the_same_noise(architecture):
    g, _ = models(architecture)
    for layer in g.modules():  # as after training: conditional norms start as plain ones
        if isinstance(layer, ConditionalBatchNorm):
            torch.nn.init.normal_(layer.gain.weight, std=0.5)
    g.eval()
    z = torch.randn(1, 8).repeat(3, 1)
    x = g(z, torch.tensor([0, 1, 2]))
    assert not torch.allclose(x[0], x[1]) and not torch.allclose(x[1], x[2])


def test_projection_discriminator_uses_the_label():
    torch.manual_seed(0)
    d = ProjectionDiscriminator(in_channels=1, n_classes=3, positions=4, width=4).eval()
    x = torch.randn(1, *SHAPE).repeat(3, 1, 1, 1)
    scores = d(x, torch.tensor([0, 1, 2]))
    assert len(set(scores.tolist())) == 3


def test_the_projection_fix_starts_as_the_papers_discriminator():
    torch.manual_seed(0)
    paper = MpcganDiscriminator(image_shape=SHAPE, n_classes=3, width=4, embedding=5)
    torch.manual_seed(0)
    fixed = MpcganDiscriminator(image_shape=SHAPE, n_classes=3, width=4, embedding=5,
                                projection=True)
    x, y = torch.randn(4, *SHAPE), torch.tensor([0, 1, 2, 0])
    assert torch.equal(paper.eval()(x, y), fixed.eval()(x, y))  # zero-initialised term


@pytest.mark.parametrize("architecture", ["mpcgan_proj", "mpcgan_ac"])
def test_the_fixes_label_reaches_both_networks(tmp_path, architecture):
    """After a few training steps, changing only the label changes G's image and D's output
    (the projection fix: its score; the AC fix: its class head), and the part of D that
    carries the fix has been trained."""
    train_tiny(architecture, tmp_path, write_grids=False)
    checkpoint = load_checkpoint(tmp_path / CHECKPOINT_FILE)
    g, d = build_image_models(architecture, image_shape=SHAPE, n_classes=len(CLASSES),
                              z_dim=8, width=4, embedding=5, dropout=0.4)
    g.load_state_dict(checkpoint["generator"])
    d.load_state_dict(checkpoint["discriminator"])
    g.eval(), d.eval()
    fix = d.projection if architecture == "mpcgan_proj" else d.classifier
    assert fix is not None
    z, labels = torch.randn(1, 8).repeat(3, 1), torch.tensor([0, 1, 2])
    with torch.no_grad():
        images = g(z, labels)
        assert not torch.allclose(images[0], images[1])
        scores, _ = d.heads(images[:1].repeat(3, 1, 1, 1), labels)
    assert len(set(scores.tolist())) == 3
    if architecture == "mpcgan_proj":
        assert d.projection.weight.abs().sum() > 0  # started at zero
    else:  # the class head's logits change with the image the label produced
        with torch.no_grad():
            other = d.heads(images, labels)[1]
        assert not torch.allclose(other[0], other[1])


def test_mpcgan_proj_uses_its_own_learning_rate_and_steps():
    params = replace(TINY, lr_g=1e-3, proj_lr_g=5e-5, proj_steps=7)
    assert cgan.lr_g_for("mpcgan_proj", params) == 5e-5
    assert cgan.lr_g_for("mpcgan", params) == 1e-3
    assert cgan.steps_for("mpcgan_proj", params) == 7 and cgan.steps_for("mpcgan", params) == 4


def test_ablation_variants_each_train_a_few_steps():
    bench = importlib.import_module("benchmarks.bench_mpcgan_ablation")
    from gansemble_lib.generators.gan_training import GanSetup, acgan_step, mpcgan_step
    from gansemble_lib.generators.interface import from_uint8

    images, labels = tiny_images()
    x, y = from_uint8(images), torch.as_tensor(labels)
    for variant in bench.VARIANTS:
        torch.manual_seed(0)
        g, d, opt_g, opt_d = bench.build(variant, SHAPE, len(CLASSES), TINY)
        before = [p.detach().clone() for p in g.parameters()]
        rng = torch.Generator().manual_seed(0)
        setup = GanSetup(generator=g, discriminator=d, opt_g=opt_g, opt_d=opt_d,
                         recipe=bench.recipe(variant), z_dim=TINY.z_dim,
                         n_classes=len(CLASSES))
        step = acgan_step if variant == "acgan" else mpcgan_step
        for _ in range(2):
            step(setup, x, y, 4, rng)
        assert any(not torch.equal(a, b)
                   for a, b in zip(before, g.parameters(), strict=True)), variant
        accuracy = bench.d_label_accuracy(d, images, labels, len(CLASSES))
        ratio = bench.label_noise_ratio(g, TINY.z_dim, len(CLASSES), seed=0)
        assert 0 <= accuracy <= 1 and ratio > 0, variant


def test_ema_warm_up_follows_the_live_weights_early():
    ema, live = torch.nn.Linear(1, 1, bias=False), torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(ema.weight)
    torch.nn.init.ones_(live.weight)
    update_ema(ema, live, decay=0.999, step=0)  # rate min(0.999, 1/10) = 0.1
    assert ema.weight.item() == pytest.approx(0.9)


# --- DiffAugment -------------------------------------------------------------------------

def test_diffaugment_keeps_shape_is_differentiable_and_seeded():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    out = DiffAugment("color,translation,cutout", torch.Generator().manual_seed(1))(x)
    assert out.shape == x.shape
    out.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    again = DiffAugment("color,translation,cutout", torch.Generator().manual_seed(1))(x)
    assert torch.equal(out, again)


def test_translation_moves_content_and_fills_with_white():
    x = -torch.ones(1, 1, 16, 16)  # all ink
    moved = translation(x, torch.Generator().manual_seed(3), ratio=0.25)
    white = (moved == 1).float().mean()
    assert 0 < white <= 1 - (1 - 0.25) ** 2 + 1e-6  # uncovered strip(s) only, within the reach
    assert set(moved.unique().tolist()) <= {-1.0, 1.0}


def test_diffaugment_policy_parsing():
    assert parse_policy("none") == () and parse_policy("cutout, color") == ("cutout", "color")
    x = torch.rand(2, 1, 8, 8)
    assert torch.equal(DiffAugment("none", torch.Generator())(x), x)
    with pytest.raises(ValueError, match="unknown DiffAugment operation 'blur'"):
        parse_policy("color,blur")
    with pytest.raises(DataError, match="cgan.diffaugment = 'colour' is not allowed"):
        from_mapping("cgan", {"diffaugment": "colour"})
    with pytest.raises(DataError, match="not a multiple of 8"):
        from_mapping("cgan", {"spectrum_points": 100})


# --- training, checkpoints and the shared generator interface -----------------------------

def train_tiny(architecture: str, out, params: CganParams = TINY, **kwargs):
    # one budget for every architecture here
    params = replace(params, modern_steps=params.steps, proj_steps=params.steps,
                     ac_steps=params.steps)
    if architecture == "spectrum":
        spectra, labels, info = tiny_spectra()
        return spectrum_gan.train(spectra, labels, CLASSES, info=info, params=params,
                                  model_dir=out, progress=False, **kwargs)
    images, labels = tiny_images()
    return cgan.train(images, labels, CLASSES, architecture=architecture, params=params,
                      model_dir=out, progress=False, **kwargs)


def weights(path) -> dict[str, torch.Tensor]:
    checkpoint = load_checkpoint(path)
    out = {f"g.{k}": v for k, v in checkpoint["generator"].items()}
    out.update({f"d.{k}": v for k, v in checkpoint["discriminator"].items()})
    out.update({f"ema.{k}": v for k, v in (checkpoint["ema"] or {}).items()})
    return out


def assert_same_weights(a, b) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


@pytest.mark.parametrize("architecture", ["mpcgan", "mpcgan_proj", "mpcgan_ac", "modern",
                                          "spectrum"])
def test_continuing_a_run_equals_running_it_at_once(tmp_path, architecture):
    run = train_tiny(architecture, tmp_path / "split", replace(TINY, steps=2), write_grids=False)
    assert run.steps_run == 2
    run = train_tiny(architecture, tmp_path / "split", write_grids=False)
    assert (run.resumed_from, run.steps_run) == (2, 2)
    whole = train_tiny(architecture, tmp_path / "whole", write_grids=False)
    assert_same_weights(tmp_path / "split" / CHECKPOINT_FILE, tmp_path / "whole" / CHECKPOINT_FILE)
    assert run.log.rows == whole.log.rows and sorted(run.snapshots) == [2, 4]


def test_finished_run_is_reused_and_changed_settings_start_afresh(tmp_path):
    first = train_tiny("mpcgan", tmp_path)
    assert sorted(p.name for p in (tmp_path / GRIDS_DIR).iterdir()) == [
        "step_0000002.png", "step_0000004.png"]
    (tmp_path / GRIDS_DIR / "step_0000002.png").unlink()
    again = train_tiny("mpcgan", tmp_path)
    assert again.steps_run == 0 and again.log.rows == first.log.rows
    assert (tmp_path / GRIDS_DIR / "step_0000002.png").is_file()
    changed = train_tiny("mpcgan", tmp_path, replace(TINY, lr_g=1e-3))
    assert changed.steps_run == 4 and "other settings" in changed.notes[0]


def test_an_edit_to_the_training_code_starts_afresh(tmp_path, monkeypatch):
    """The checkpoint folders persist between `dvc repro` runs: after an edit to a network,
    a loss, the loop or the data scaling, a finished run must be retrained, not reused. The
    edit is real: the fingerprint reads an edited copy of the module's source file."""
    assert {"generators.cgan", "generators.cgan_models", "augment.diffaugment",
            "generators.gan_training", "generators.interface", "generators.spectrum_gan",
            "generators.training"} <= set(TRAINING_CODE)
    short = replace(TINY, steps=2)
    assert train_tiny("modern", tmp_path, short, write_grids=False).steps_run == 2
    assert train_tiny("modern", tmp_path, short, write_grids=False).steps_run == 0  # no edit
    for name in TRAINING_CODE:
        module = importlib.import_module(f"gansemble_lib.{name}")
        edited = tmp_path / "edited" / name / Path(module.__file__).name
        edited.parent.mkdir(parents=True)
        edited.write_text(Path(module.__file__).read_text() + "\nSCALE = 2.0  # an edit\n")
        with monkeypatch.context() as patch:
            patch.setattr(module, "__file__", str(edited))
            run = train_tiny("modern", tmp_path, short, write_grids=False)
            assert run.steps_run == 2 and "data or code" in run.notes[0], name
            assert train_tiny("modern", tmp_path, short, write_grids=False).steps_run == 0, name


@pytest.mark.parametrize("architecture", ["mpcgan", "modern", "spectrum"])
def test_loaded_generator_is_deterministic_uint8_and_conditional(tmp_path, architecture):
    train_tiny(architecture, tmp_path, write_grids=False)
    generator = load_generator(tmp_path / CHECKPOINT_FILE)
    assert generator.classes == CLASSES and generator.image_shape == SHAPE
    images = generator.generate(1, 3, seed=7)
    assert images.dtype == np.uint8 and images.shape == (3, *SHAPE)
    assert np.array_equal(images, generator.generate(1, 3, seed=7))
    assert not np.array_equal(images, generator.generate(1, 3, seed=8))
    assert generator.generate(0, 0, seed=0).shape == (0, *SHAPE)
    with pytest.raises(ValueError, match="class_index 3 is out of range"):
        generator.generate(3, 1, seed=0)


def test_spectrum_gan_renders_like_prepare(tmp_path):
    train_tiny("spectrum", tmp_path, write_grids=False)
    generator = load_generator(tmp_path / CHECKPOINT_FILE)
    spectra = generator.generate_spectra(2, 4, seed=1)
    assert spectra.shape == (4, 64) and spectra.min() >= 0 and spectra.max() <= 1
    expected = render_spectra(spectra, PrepareParams(image_size=16, line_width=1.0, channels=1))
    assert np.array_equal(generator.generate(2, 4, seed=1), expected)


def test_spectrum_gan_scales_each_spectrum_to_the_tanh_range():
    spectra, _, _ = tiny_spectra()
    scaled = spectrum_gan.training_spectra(spectra * 7 + 3, 64)
    assert scaled.shape == (12, 64)
    assert np.allclose(scaled.min(axis=1), -1) and np.allclose(scaled.max(axis=1), 1)


def test_spectrum_gan_refuses_image_data(tmp_path):
    images, labels = tiny_images()
    with pytest.raises(DataError, match="the spectrum GAN needs spectra, but the prepared data "
                                        "are images"):
        spectrum_gan.train(None, labels, CLASSES, info={"modality": "images", "params": {}},
                           params=TINY, model_dir=tmp_path)


# --- the copy and spectral checks ---------------------------------------------------------

def test_copies_of_training_images_are_flagged():
    images, labels = tiny_images()
    near = gan_checks.nearest_real(images[:4], images, images[4:6], sample_labels=labels[:4],
                                   train_labels=labels)
    summary = near.summary(labels[:4], labels)
    assert np.allclose(near.distances, 0) and list(near.indices) == [0, 1, 2, 3]
    assert summary[gan_checks.NN_RATIO] == 0
    assert summary[gan_checks.CLOSER_THAN_ANY_TRAIN_PAIR] == 1
    assert summary[gan_checks.NN_SAME_CLASS] == 1


def test_spread_ratio_is_one_for_real_data_and_zero_for_a_collapsed_generator():
    images, labels = tiny_images()
    features = images.reshape(len(images), -1).astype(float)
    assert gan_checks.within_class_spread(features, labels, features, labels) == 1
    collapsed = np.repeat(features[:1], 6, axis=0)
    assert gan_checks.within_class_spread(collapsed, labels[:6] * 0, features, labels) == 0


def test_real_spectra_match_their_class_mean():
    spectra, labels, _ = tiny_spectra()
    images = render_spectra(spectra, PrepareParams(image_size=64))
    result = gan_checks.class_mean_agreement(
        images, labels, images, labels, n_classes=3, geometry=PolarGeometry(size=64))
    assert result[gan_checks.CLASS_MATCH] == 1 and result[gan_checks.OWN_CLASS_CORRELATION] > 0.9
    shuffled = gan_checks.class_mean_agreement(
        images, (labels + 1) % 3, images, labels, n_classes=3, geometry=PolarGeometry(size=64))
    assert shuffled[gan_checks.CLASS_MATCH] == 0


# --- exact resume after a hard kill -------------------------------------------------------

RESUME_SCRIPT = """
import sys, time
import numpy as np
import gansemble_lib.generators.gan_training as loop
from gansemble_lib.generators import cgan
from gansemble_lib.core.config import CganParams

out, pause = sys.argv[1], float(sys.argv[2])
if pause:  # hold still after the first checkpoint so the test can kill the run part-way
    save = loop.save_checkpoint
    def save_then_wait(path, state):
        save(path, state)
        time.sleep(pause)
    loop.save_checkpoint = save_then_wait
rng = np.random.default_rng(0)
images = rng.integers(0, 256, (12, 1, 16, 16), dtype=np.uint8)
params = CganParams(steps=6, modern_steps=6, batch_size=4, z_dim=8, width=4, checkpoint_every=2,
                    grid_per_class=2)
cgan.train(images, np.arange(12) % 3, ("a", "b", "c"), architecture="modern", params=params,
           model_dir=out, progress=False, write_grids=False)
"""


@pytest.mark.slow
def test_killed_training_resumes_to_identical_weights(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(RESUME_SCRIPT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    interrupted, whole = tmp_path / "interrupted", tmp_path / "whole"
    proc = subprocess.Popen([sys.executable, str(script), str(interrupted), "120"], env=env)
    deadline = time.monotonic() + 120
    while not (interrupted / CHECKPOINT_FILE).is_file():
        assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert load_checkpoint(interrupted / CHECKPOINT_FILE)["step"] == 2  # killed part-way
    for out in (interrupted, whole):
        subprocess.run([sys.executable, str(script), str(out), "0"], env=env, check=True)
    assert load_checkpoint(interrupted / CHECKPOINT_FILE)["step"] == 6
    assert_same_weights(interrupted / CHECKPOINT_FILE, whole / CHECKPOINT_FILE)
    assert (load_checkpoint(interrupted / CHECKPOINT_FILE)["loss_rows"]
            == load_checkpoint(whole / CHECKPOINT_FILE)["loss_rows"])

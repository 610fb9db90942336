"""Fidelity metrics: known answers with tiny extractors, small-N behaviour, extractor policy."""

from __future__ import annotations

import urllib.error

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import torch
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

from gansemble_lib.core import tables
from gansemble_lib.core.constants import (
    EXTRACTOR,
    FID,
    IS_MEAN,
    IS_SPLITS,
    KID_MEAN,
    KID_STD,
    KID_SUBSET_SIZE,
    NOTE,
    PRECISION,
    RECALL,
    WEIGHTS_SHA256,
)
from gansemble_lib.evaluation import extractors, fidelity
from gansemble_lib.evaluation.classifiers import make_classifier

TINY = "test-tiny-identity"


class TinyIdentity(FeatureExtractorBase):
    """Features = pixels / 255 (float64), logits = 60 x features: answers can be worked out."""

    def __init__(self, name, features_list, **kwargs):
        super().__init__(name, features_list)

    @staticmethod
    def get_provided_features_list():
        return ("pixels", "logits")

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return "logits" if metric == "isc" else "pixels"

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return torch.zeros(1, 1, 2, 2, dtype=torch.uint8)

    def forward(self, x):
        pixels = x.flatten(1).double() / 255.0
        out = {"pixels": pixels, "logits": 60.0 * pixels}
        return tuple(out[name] for name in self.features_list)


if TINY not in FEATURE_EXTRACTORS_REGISTRY:
    register_feature_extractor(TINY, TinyIdentity)
TINY_EXTRACTOR = extractors.Extractor(TINY, None, None, feature_dim=4)


def gaussian_images(n: int, mean: float, sd: float, seed: int) -> np.ndarray:
    """(n, 1, 2, 2) uint8 'images' whose four pixels are Gaussian features."""
    values = np.random.default_rng(seed).normal(mean, sd, size=(n, 1, 2, 2))
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


def features(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float64) / 255.0


def closed_form_fid(a: np.ndarray, b: np.ndarray) -> float:
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean))


def fid_via_eigenvalues(a: np.ndarray, b: np.ndarray) -> float:
    """The same distance for more dimensions than samples, where sqrtm warns of singularity:
    tr((S1 S2)^1/2) is the sum of the square roots of the eigenvalues of S1 S2."""
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_trace = np.sqrt(np.linalg.eigvals(s1 @ s2).astype(complex)).real.sum()
    return float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(s1 + s2) - 2 * root_trace)


def unbiased_mmd2(a: np.ndarray, b: np.ndarray) -> float:
    """KID's estimator with the cubic polynomial kernel (x.y / d + 1)^3."""
    d = a.shape[1]

    def kernel(x, y):
        return (x @ y.T / d + 1.0) ** 3

    m = len(a)
    kxx, kyy, kxy = kernel(a, a), kernel(b, b), kernel(a, b)
    return float((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2 * kxy.mean())


def test_fid_of_a_set_with_itself_is_zero():
    images = gaussian_images(80, 120, 20, seed=0)
    result = fidelity.compute(images, images, extractor=TINY_EXTRACTOR)
    assert result[FID] == pytest.approx(0.0, abs=1e-9)
    assert result[PRECISION] == 1.0 and result[RECALL] == 1.0


def test_fid_and_kid_of_shifted_gaussians_match_the_closed_forms():
    a, b = gaussian_images(120, 100, 12, seed=1), gaussian_images(120, 130, 18, seed=2)
    settings = fidelity.MetricSettings(kid_subsets=5, kid_subset_size=120)
    result = fidelity.compute(a, b, extractor=TINY_EXTRACTOR, settings=settings)
    assert result[FID] == pytest.approx(closed_form_fid(features(a), features(b)), rel=1e-9)
    # subsets as large as the sets are permutations of them: every subset gives the full MMD
    assert result[KID_MEAN] == pytest.approx(unbiased_mmd2(features(a), features(b)), rel=1e-9)
    assert result[KID_STD] == pytest.approx(0.0, abs=1e-12)
    assert result[FID] > 0.01


def test_inception_score_of_uniform_predictions_is_one():
    blank = np.zeros((40, 1, 1, 4), dtype=np.uint8)  # all logits equal
    result = fidelity.compute(blank, blank, extractor=TINY_EXTRACTOR)
    assert result[IS_MEAN] == pytest.approx(1.0, abs=1e-9)


def test_inception_score_of_confident_balanced_predictions_is_the_class_count():
    one_hot = np.zeros((4 * 10, 1, 1, 4), dtype=np.uint8)
    one_hot[np.arange(40), 0, 0, np.arange(40) % 4] = 255
    settings = fidelity.MetricSettings(isc_splits=1)
    result = fidelity.compute(one_hot, one_hot, extractor=TINY_EXTRACTOR, settings=settings)
    assert result[IS_MEAN] == pytest.approx(4.0, rel=1e-9)


def random_domain_file(path, *, seed: int, arch: str = "resnet") -> str:
    """A randomly initialised domain network on disk: for tests only, never for a result."""
    torch.manual_seed(seed)
    model = make_classifier(arch, in_channels=1, n_classes=3, size=16)
    return extractors.save_domain_network(model, path, arch=arch, size=16,
                                          classes=("a", "b", "c"))


def random_images(n: int, seed: int, *, channels: int = 1, size: int = 24) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, channels, size, size), dtype=np.uint8)


def test_results_do_not_depend_on_batch_size(tmp_path):
    random_domain_file(tmp_path / "d.pt", seed=0)
    extractor = extractors.domain_extractor(tmp_path / "d.pt")
    a, b = random_images(30, 1), random_images(25, 2)
    results = [fidelity.compute(a, b, extractor=extractor,
                                settings=fidelity.MetricSettings(batch_size=size))
               for size in (1, 7, 64)]
    for other in results[1:]:
        for metric in (FID, KID_MEAN, IS_MEAN, PRECISION, RECALL):
            assert other[metric] == pytest.approx(results[0][metric], rel=1e-4, abs=1e-6)


def test_the_configured_weights_file_is_the_one_loaded(tmp_path):
    sha_a = random_domain_file(tmp_path / "a.pt", seed=1)
    random_domain_file(tmp_path / "b.pt", seed=2)
    a, b = random_images(40, 3), random_images(40, 4)
    results = {name: fidelity.compute(a, b, extractor=extractors.domain_extractor(
        tmp_path / f"{name}.pt")) for name in ("a", "b")}
    assert results["a"][WEIGHTS_SHA256] == sha_a == extractors.sha256_file(tmp_path / "a.pt")
    assert results["a"][FID] != pytest.approx(results["b"][FID])
    # the reported FID is what file a's network gives, worked out independently
    model, meta = extractors.load_domain_network(tmp_path / "a.pt")
    body, _ = extractors._split(model)
    with torch.no_grad():
        fa, fb = (body(extractors.ink_input(torch.from_numpy(x), meta["size"])).double().numpy()
                  for x in (a, b))
    assert results["a"][FID] == pytest.approx(fid_via_eigenvalues(fa, fb), rel=1e-3)


def test_domain_extractor_takes_any_size_and_channel_count(tmp_path):
    random_domain_file(tmp_path / "d.pt", seed=0)
    extractor = extractors.domain_extractor(tmp_path / "d.pt")
    grey, rgb = random_images(12, 5, size=40), random_images(12, 6, channels=3, size=9)
    assert np.isfinite(fidelity.compute(grey, rgb, extractor=extractor)[FID])
    assert extractor.feature_dim == 64


def test_domain_extractor_refuses_to_run_without_weights():
    extractors.register_domain_extractor()
    with pytest.raises(ValueError, match="feature_extractor_weights_path"):
        extractors.DomainFeatureExtractor(extractors.DOMAIN, ["feature"])


def test_offline_without_weights_gives_a_notice_and_the_domain_extractor(tmp_path, capsys):
    random_domain_file(tmp_path / "d.pt", seed=0)
    extractor = extractors.resolve_extractor(
        inception_weights=tmp_path / "missing.pth", allow_network=False,
        domain_weights=tmp_path / "d.pt", hub_dir=tmp_path / "hub")
    assert extractor.name == extractors.DOMAIN
    assert extractor.weights_sha256 == extractors.sha256_file(tmp_path / "d.pt")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("notice:") and "domain extractor" in lines[0]
    assert extractor.notice == lines[0]


def test_a_failed_download_falls_back_to_the_domain_extractor(tmp_path, monkeypatch, capsys):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    random_domain_file(tmp_path / "d.pt", seed=0)
    extractor = extractors.resolve_extractor(inception_weights=None, allow_network=True,
                                             domain_weights=tmp_path / "d.pt",
                                             hub_dir=tmp_path / "hub")
    assert extractor.name == extractors.DOMAIN and "failed" in extractor.notice
    assert "download failed" in capsys.readouterr().err


def test_network_is_never_touched_unless_allowed(tmp_path, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("download attempted without permission")

    monkeypatch.setattr(torch.hub, "download_url_to_file", forbidden)
    assert extractors.standard_weights(None, allow_network=False, hub_dir=tmp_path) is None


def test_configured_or_cached_inception_weights_are_preferred(tmp_path):
    configured = tmp_path / "inception.pth"
    configured.write_bytes(b"weights")
    chosen = extractors.resolve_extractor(inception_weights=configured, allow_network=False,
                                          domain_weights=tmp_path / "unused.pt",
                                          hub_dir=tmp_path / "hub")
    assert (chosen.name, chosen.weights_path) == (extractors.STANDARD, str(configured))
    assert chosen.weights_sha256 == extractors.sha256_file(configured)
    assert chosen.channels == 3 and not chosen.notice
    cached = tmp_path / "hub" / "checkpoints" / extractors.INCEPTION_FILE
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"cached")
    found = extractors.standard_weights(None, allow_network=False, hub_dir=tmp_path / "hub")
    assert found == cached


@pytest.mark.slow
def test_inception_runs_on_grey_images_with_the_configured_file(tmp_path, monkeypatch):
    """Random Inception weights in a temp file: the path is honoured, grey input is accepted."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    torch.save({}, tmp_path / "empty.pth")
    with monkeypatch.context() as patch:  # build a randomly initialised network once
        patch.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
        torch.manual_seed(0)
        random_net = FeatureExtractorInceptionV3(
            "x", ["2048"], feature_extractor_weights_path=tmp_path / "empty.pth")
    torch.save(random_net.state_dict(), tmp_path / "random_inception.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    extractor = extractors.resolve_extractor(inception_weights=tmp_path / "random_inception.pth",
                                             allow_network=False, domain_weights=tmp_path / "x")
    a, b = random_images(6, 1, size=32), random_images(6, 2, size=32)
    result = fidelity.compute(a, b, extractor=extractor,
                              settings=fidelity.MetricSettings(isc_splits=2))
    assert result[EXTRACTOR] == extractors.STANDARD
    assert result[WEIGHTS_SHA256] == extractors.sha256_file(tmp_path / "random_inception.pth")
    with torch.no_grad():
        fa, fb = (random_net(torch.from_numpy(x).expand(-1, 3, -1, -1))[0].double().numpy()
                  for x in (a, b))
    assert result[FID] == pytest.approx(fid_via_eigenvalues(fa, fb), rel=1e-3)


def test_tiny_samples_never_crash_and_say_what_was_left_out():
    three, five = gaussian_images(3, 100, 10, 0), gaussian_images(5, 100, 10, 1)
    result = fidelity.compute(three, five, extractor=TINY_EXTRACTOR)
    assert np.isfinite(result[KID_MEAN]) and result[KID_SUBSET_SIZE] == 3
    assert np.isnan(result[PRECISION]) and "precision/recall not computed" in result[NOTE]
    assert "KID subsets of 3" in result[NOTE] and "FID unreliable" in result[NOTE]
    assert result[IS_SPLITS] == 3
    single = fidelity.compute(three[:1], five, extractor=TINY_EXTRACTOR)
    assert np.isnan(single[FID]) and np.isnan(single[KID_MEAN])
    assert "fewer than 2 images" in single[NOTE] and single[EXTRACTOR] == TINY


def test_an_empty_set_gives_only_labelled_gaps():
    empty = np.zeros((0, 1, 2, 2), dtype=np.uint8)
    result = fidelity.compute(empty, gaussian_images(5, 100, 10, 1), extractor=TINY_EXTRACTOR)
    assert all(np.isnan(result[m]) for m in (FID, KID_MEAN, IS_MEAN, PRECISION, RECALL))
    assert "IS not computed" in result[NOTE] and result[EXTRACTOR] == TINY


def test_fid_reliability_rule():
    assert fidelity.fid_is_reliable(128, 128, 64)
    assert not fidelity.fid_is_reliable(127, 500, 64)
    assert not fidelity.fid_is_reliable(49, 49, 4)
    assert fidelity.fid_is_reliable(50, 50, 4)


def test_tables_cover_every_set_and_class_with_is_overall_only():
    rng = np.random.default_rng(0)
    images = gaussian_images(60, 110, 15, 2)
    labels = rng.integers(0, 3, size=60)
    sets = {("gen", "none"): (images, labels), ("gen", "symp"): (images[:30], labels[:30])}
    overall, per_class = fidelity.fidelity_tables(
        sets, (gaussian_images(30, 110, 15, 3), rng.integers(0, 3, size=30)), ("x", "y", "z"),
        extractor=TINY_EXTRACTOR)
    assert len(overall) == 2 and len(per_class) == 6
    assert overall[IS_MEAN].notna().all() and per_class[IS_MEAN].isna().all()
    assert (overall[EXTRACTOR] == TINY).all()


def test_paper_protocol_draws_the_real_class_mix_each_repeat():
    calls = []

    def generate(class_index, n, seed):
        calls.append((class_index, n, seed))
        return gaussian_images(n, 90 + 10 * class_index, 10, seed)

    runs = fidelity.paper_protocol(generate, np.array([3, 0, 5]), gaussian_images(20, 100, 10, 9),
                                   extractor=TINY_EXTRACTOR, repeats=2)
    assert len(runs) == 2 and (runs["n_generated"] == 8).all()
    assert sorted({(k, n) for k, n, _ in calls}) == [(0, 3), (2, 5)]
    assert len({seed for *_, seed in calls}) == 4  # fresh samples every repeat and class
    summary = fidelity.summarise_repeats(runs)
    assert np.isfinite(summary["fid_mean"]) and np.isfinite(summary["fid_sd"])
    assert summary["kid_mean"] == pytest.approx(runs[KID_MEAN].mean())


def test_paper_protocol_table_is_empty_but_shaped_when_off():
    table = fidelity.paper_protocol_table({}, np.array([1]), gaussian_images(4, 100, 10, 0),
                                          extractor=TINY_EXTRACTOR, repeats=5)
    assert table.empty and "fid_mean" in table.columns and table.index.name == "source"


def test_json_ready_replaces_nan():
    assert tables.json_ready({"a": float("nan"), "b": [np.float32(1.5)], "c": "x"}) == {
        "a": None, "b": [1.5], "c": "x"}


def test_the_real_null_says_how_many_real_images_it_used():
    """A set larger than the train split cannot get a null of its own size: the null then uses
    every train image and says so (null_n), rather than passing for the set's size."""
    train = np.concatenate([gaussian_images(12, 100, 20, 1), gaussian_images(12, 140, 20, 2)])
    labels = np.repeat([0, 1], 12)
    reference = gaussian_images(16, 120, 20, 3)
    settings = fidelity.MetricSettings(kid_subset_size=4, kid_subsets=5)
    null = fidelity.real_null((train, labels), reference, [10, 60], repeats=2,
                              extractor=TINY_EXTRACTOR, settings=settings)
    used = null.groupby("n_requested")["n_null"].max().to_dict()
    assert used == {10: 10, 60: 24}
    overall = pd.DataFrame({fidelity.N_GENERATED: [10, 60, np.nan]})
    marked = fidelity.with_null(overall, null, (FID,))
    assert marked[fidelity.NULL_N].iloc[:2].tolist() == [10, 24]
    assert np.isnan(marked[fidelity.NULL_N].iloc[2])

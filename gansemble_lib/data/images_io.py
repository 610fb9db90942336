"""Load a class-per-folder image set into fixed-size uint8 arrays.

Layout: ``root/<class>/<image files>``; the folder name is the label. Policy decisions:

- Non-image files (``README.txt``, ``.DS_Store``), hidden files (macOS ``._x.png`` resource
  forks carry image extensions but are not images) and nested folders are skipped and listed in
  the :class:`LoadReport`. Non-image files directly in ``root`` are skipped the same way, but an
  *image* directly in ``root`` is an error: it has no class, and dropping it would be silent.
- A corrupt file with an image extension raises :class:`DataError` instead of being skipped:
  in a small imbalanced dataset one lost image shifts the class balance under study, and a
  corrupt file usually means a broken copy that the user should repair, not ignore.
- Transparency is composited onto white and letterboxing pads with white, because the paper's
  images are dark curves on white; black padding would read as signal.
- 16-bit and 32-bit grey are mapped to 8 bits over their full type range (value / 257), not
  stretched per image, so the same intensity means the same grey in every file.
- Every file whose mode is not the one the arrays hold (8-bit ``L`` for one channel, ``RGB`` for
  three) is converted, and the report says so per source mode: how many files, what was done
  (e.g. "transparency composited onto white", "CMYK to RGB without a colour profile") and the
  first few file names. A mixed folder (grey PNG, CMYK JPEG, 16-bit PNG) is common and usually
  fine, but a person should see it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..core.errors import DataError, LoadReport
from ..core.records import LabelledImage

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"})
_WHITE = 255
_LAYOUT = "root/<class name>/<image files>, one folder per class"
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_NAMES_SHOWN = 3  # file names listed per kind of conversion


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _to_8bit_gray(img: Image.Image) -> Image.Image:
    """Map high-bit-depth grey (I;16*, I, F) onto 0..255 over the full 16-bit range."""
    values = np.asarray(img, dtype=np.float64)
    if img.mode == "F" and values.size and values.max() <= 1.0:
        values = values * 65535.0  # float images conventionally hold 0..1
    values = np.clip(values, 0.0, 65535.0) / 257.0
    return Image.fromarray(np.rint(values).astype(np.uint8), mode="L")


def _flatten_on_white(img: Image.Image) -> Image.Image:
    """Return an opaque L or RGB image; any transparency becomes white background."""
    if img.mode.startswith("I") or img.mode == "F":
        return _to_8bit_gray(img)
    if img.mode == "1":
        return img.convert("L")
    has_alpha = img.mode in _ALPHA_MODES or "transparency" in img.info
    if has_alpha:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (_WHITE, _WHITE, _WHITE, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img if img.mode in ("L", "RGB") else img.convert("RGB")


def _letterbox_resize(img: Image.Image, size: int) -> Image.Image:
    """Pad to a centred square on white (keeps the aspect ratio), then resize to ``size``.

    Downsizing uses BOX (area averaging): every source pixel contributes with its covered area,
    so a 1-2 px curve fades to grey but never drops out, and nothing overshoots into halos next
    to the curve as LANCZOS's negative lobes do. Upsizing (rare: small sources) uses BILINEAR
    for the same reason - LANCZOS would grey the white margin next to a dark edge - and
    because BOX would give blocky pixels.
    """
    side = max(img.size)
    fill = _WHITE if img.mode == "L" else (_WHITE,) * 3
    square = Image.new(img.mode, (side, side), fill)
    square.paste(img, ((side - img.width) // 2, (side - img.height) // 2))
    if side == size:
        return square
    resample = Image.Resampling.BOX if side > size else Image.Resampling.BILINEAR
    return square.resize((size, size), resample=resample)


def _decode(path: Path, report: LoadReport) -> Image.Image:
    """Open and fully decode one file, turning every PIL failure into a DataError."""
    fix = "remove or replace this file (re-export or re-copy it), then load again"
    try:
        with Image.open(path) as img:
            if getattr(img, "n_frames", 1) > 1:
                report.notes.append(f"{path}: has {img.n_frames} frames, used the first")
            img.load()
            return ImageOps.exif_transpose(img)  # camera JPEGs store rotation separately
    except Image.DecompressionBombError as exc:
        raise DataError(f"image too large to decode safely ({exc})", path=path, fix=fix) from None
    except Exception as exc:  # noqa: BLE001
        # PIL plugins raise OSError, struct.error, IndexError, ... on malformed bytes; to a user
        # every one of them means the same thing: this file is broken.
        problem = f"cannot be read as an image ({type(exc).__name__}: {exc})"
        raise DataError(problem, path=path, fix=fix) from None


def _to_array(img: Image.Image, size: int, channels: int) -> np.ndarray:
    """(channels, size, size) uint8; one channel is ITU-R 601 luma (PIL's L conversion)."""
    flat = _flatten_on_white(img)
    flat = flat.convert("L" if channels == 1 else "RGB")
    pixels = np.asarray(_letterbox_resize(flat, size), dtype=np.uint8)
    pixels = pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)
    return np.ascontiguousarray(pixels)


def _mode_change(img: Image.Image, channels: int) -> tuple[str, str] | None:
    """(source mode, target mode and what loading does to it) when :func:`_to_array` changes
    the image's mode; None when the file already is what the arrays hold."""
    target = "L" if channels == 1 else "RGB"
    transparent = img.mode in _ALPHA_MODES or "transparency" in img.info
    source = img.mode + (" with transparency" if transparent and img.mode not in _ALPHA_MODES
                         else "")
    if source == target:
        return None
    how = []
    if img.mode.startswith("I") or img.mode == "F":
        how.append("high-bit-depth grey mapped to 8 bits over the 16-bit range, value / 257")
    if img.mode == "1":
        how.append("black and white to 8-bit grey")
    if img.mode == "P":
        how.append("palette expanded")
    if img.mode == "CMYK":
        how.append("CMYK to RGB without a colour profile")
    if transparent:
        how.append("transparency composited onto white")
    if channels == 1 and img.mode not in _GREY_MODES:
        how.append("colour to grey, ITU-R 601 luma")
    if channels == 3 and img.mode in _GREY_MODES:
        how.append("grey copied into 3 channels")
    return source, f"{target} ({'; '.join(how)})" if how else target


def _conversion_notes(converted: dict[tuple[str, str], list[str]], total: int) -> list[str]:
    """One line per source mode: how many files, what was done, the first few names."""
    notes = []
    for (source, target), names in converted.items():
        shown = ", ".join(names[:_NAMES_SHOWN]) + (", ..." if len(names) > _NAMES_SHOWN else "")
        notes.append(f"converted {len(names)} of {total} images from mode {source} to {target}:"
                     f" {shown}")
    return notes


def _class_folders(root: Path, report: LoadReport) -> list[Path]:
    """Subfolders of root, in sorted order; refuses layouts where a label would be guessed."""
    folders = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            report.skip(str(entry), "hidden entry")
        elif entry.is_dir():
            folders.append(entry)
        elif _is_image_name(entry):
            raise DataError(
                "image file directly in the dataset folder, so it has no class",
                path=entry,
                fix=f"move every image into a folder named after its class: {_LAYOUT}",
            )
        else:
            report.skip(str(entry), "not an image file")
    if not folders:
        raise DataError(
            "no class folders found",
            path=root,
            fix=f"arrange the images as {_LAYOUT}",
        )
    return folders


def _class_images(folder: Path, report: LoadReport) -> list[Path]:
    images = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            report.skip(str(entry), "hidden file")
        elif entry.is_dir():
            report.skip(str(entry), "nested folder (only one level of class folders is read)")
        elif _is_image_name(entry):
            images.append(entry)
        else:
            report.skip(str(entry), "not an image file")
    if not images:
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise DataError(
            "class folder contains no images",
            path=folder,
            fix=f"add images ({suffixes}) to it, or delete the folder to drop the class",
        )
    return images


def load_image_folder(
    root: str | Path, *, size: int, channels: int
) -> tuple[list[LabelledImage], LoadReport]:
    """Read every image under ``root/<class>/`` as uint8 (channels, size, size), sorted by path.

    Raises DataError, naming the file and the fix, for a missing root, no class folders, an
    empty class, an image outside a class folder, or an unreadable image; nothing is written.
    The report's notes give the images per class and every mode conversion (per source mode:
    how many files, what was done, the first few names relative to ``root``).
    """
    base = Path(root)
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise DataError(f"size must be a positive integer, got {size!r}", fix="e.g. size=64")
    if channels not in (1, 3):
        raise DataError(f"channels must be 1 or 3, got {channels!r}", fix="use 1 or 3")
    if not base.is_dir():
        raise DataError("dataset folder not found", path=base, fix=f"create it as {_LAYOUT}")
    report = LoadReport()
    images = []
    converted: dict[tuple[str, str], list[str]] = {}  # (source mode, target) -> files
    for folder in _class_folders(base, report):
        paths = _class_images(folder, report)
        for path in paths:
            img = _decode(path, report)
            change = _mode_change(img, channels)
            if change is not None:
                converted.setdefault(change, []).append(path.relative_to(base).as_posix())
            pixels = _to_array(img, size, channels)
            images.append(LabelledImage(label=folder.name, pixels=pixels, source=str(path)))
        report.notes.append(f"class {folder.name}: {len(paths)} images")
    report.notes.extend(_conversion_notes(converted, len(images)))
    report.loaded = len(images)
    return images, report

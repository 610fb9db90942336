"""Image mosaics: every sample grid is one image in one axes (core/figures.py)."""

import numpy as np

from gansemble_lib.core import figures


def _tile(value: int, channels: int = 1) -> np.ndarray:
    return np.full((channels, 4, 6), value, dtype=np.uint8)


def test_mosaic_places_each_tile_in_its_row_and_column_with_gutters():
    tiles = [[_tile(10), _tile(20), _tile(30)], [_tile(40)]]  # the second row is short
    g = figures.GUTTER
    out = figures.mosaic_array(tiles)
    assert out.shape == (g + 2 * (4 + g), g + 3 * (6 + g))
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            top, left = g + r * (4 + g), g + c * (6 + g)
            assert (out[top:top + 4, left:left + 6] == tile[0]).all()
            assert out[top - 1, left] == figures.GUTTER_GRAY  # framed
    top, left = g + 4 + g, g + 2 * (6 + g)  # the short row's missing tiles stay white
    assert (out[top:top + 4, left:left + 6] == 255).all()


def test_mosaic_of_rgb_tiles_is_height_width_channels():
    out = figures.mosaic_array([[_tile(7, 3), _tile(9, 3)]], columns=3)
    g = figures.GUTTER
    assert out.shape == (g + 4 + g, g + 3 * (6 + g), 3)
    assert (out[g, g + 6 + g] == 9).all()


def test_sample_grid_draws_one_axes_for_all_images():
    samples = np.zeros((3, 5, 1, 8, 8), dtype=np.uint8)
    fig = figures.class_sample_grid(samples, ("a", "b", "c"), title="step 1")
    assert len(fig.axes) == 1 and len(fig.axes[0].images) == 1
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["a", "b", "c"]
    empty = figures.image_grid(np.zeros((0, 1, 8, 8), np.uint8), np.zeros(0, int), ("a",),
                               per_class=2, seed=0)
    assert len(empty.axes[0].images) == 0  # no image of any class: an empty panel, no error

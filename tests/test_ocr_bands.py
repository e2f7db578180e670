"""The detector runs in bands of bounded size: the stitched map equals one pass, and the loop always ends."""

from __future__ import annotations

import numpy as np
import pytest

from phi_review.core.ocr import detect


class _PerPixel:
    """Stands in for the detector: a per-pixel function of its input, so bands must stitch exactly."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, ...]] = []

    def get_inputs(self):
        return [type("Input", (), {"name": "x"})()]

    def run(self, _outputs, feeds):
        tensor = feeds["x"]
        self.calls.append(tensor.shape)
        assert tensor.shape[2] % 32 == 0 and tensor.shape[3] % 32 == 0
        return [np.tanh(tensor[:, :1] * 0.5 + tensor[:, 1:2] * 0.25)]


@pytest.mark.parametrize("width", [32, 200, 1600, 1666, 1700, 2400, 4096, 9000])
@pytest.mark.parametrize("height", [32, 300, 1100])
def test_bands_give_the_single_pass_map_for_any_size(monkeypatch, width, height):
    monkeypatch.setattr(detect, "TILE_PIXELS", 160_000)
    rng = np.random.default_rng(width * 7 + height)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    session = _PerPixel()
    banded = detect._probability(session, rgb, 1.0)
    whole = _PerPixel().run(None, {"x": detect.detector_input(rgb, 1.0)})[0][0, 0]
    assert banded.shape == whole.shape and np.array_equal(banded, whole)
    rows = whole.shape[0]
    assert sum(shape[2] for shape in session.calls) <= 3 * rows + 2 * detect.OVERLAP
    assert all(shape[2] * shape[3] <= max(detect.TILE_PIXELS, (2 * detect.OVERLAP + 64) * shape[3])
               for shape in session.calls)

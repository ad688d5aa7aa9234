"""Distances in thumbnail captions (polish27): the inspection view's neighbours of bgae codes on a
folder of sequences read "d" over "0.000476", the number wrapped under the 48-px tile."""

import pytest
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication

from explorer.ui.numbers import caption_number


@pytest.mark.parametrize(
    "x, text",
    [(45.1234, "45.1"), (0.00109, "0.00109"), (0.000476, "0.00048"), (4.76e-5, "4.8e-5"),
     (123456.0, "1.23e5"), (0.0, "0"), (-0.5, "-0.5"), (37, "37"), (float("nan"), "nan")],
)  # fmt: skip
def test_caption_numbers_keep_two_or_three_digits_in_seven_characters(x, text):
    assert caption_number(x) == text and len(text) <= 7
    if text != "nan":
        assert float(text) == pytest.approx(x, rel=0.02, abs=1e-12)


def test_a_small_distance_is_no_wider_than_one_that_fitted(qapp):
    """In the snapshot "d 0.00109" fitted its tile's line and "d 0.000476" wrapped."""
    metrics = QFontMetrics(QApplication.font())
    assert metrics.horizontalAdvance(f"d {0.000476:.3g}") > metrics.horizontalAdvance(f"d {0.00109:.3g}")
    assert metrics.horizontalAdvance(f"d {caption_number(0.000476)}") <= metrics.horizontalAdvance(
        "d 0.00109"
    )
    assert metrics.horizontalAdvance(f"d {caption_number(4.76e-5)}") <= metrics.horizontalAdvance("d 0.00109")

"""The brief's numbers: Wilson intervals for a share of members, and how shares are printed."""

from __future__ import annotations

import numpy as np
import pytest

from sim.brief import percent, share_interval


def test_wilson_interval_of_a_share_of_equal_members():
    w = np.full(1000, 1e-3)
    z2 = 1.959964**2
    # At 0 members the interval is [0, z²/(n + z²)]; at all members, its mirror image.
    assert share_interval(0.0, w) == (0.0, pytest.approx(z2 / (1000 + z2)))
    assert share_interval(1.0, w) == (pytest.approx(1000 / (1000 + z2)), 1.0)
    low, high = share_interval(0.5, w)
    assert low == pytest.approx(1 - high) and high - low == pytest.approx(0.0619, abs=2e-4)


def test_weighted_members_count_as_their_effective_number():
    equal = share_interval(0.3, np.full(100, 0.01))
    # Four members carrying all the weight: as uncertain as four equal members.
    skewed = share_interval(0.3, np.r_[np.full(4, 0.25), np.zeros(96)])
    assert skewed == pytest.approx(share_interval(0.3, np.full(4, 0.25)))
    assert skewed[1] - skewed[0] > equal[1] - equal[0]


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0, "0%"), (0.0004, "<0.1%"), (0.007, "0.7%"), (0.25, "25%"), (0.9995, ">99.9%"),
     (0.95, "95.0%"), (1.0, "100%")],
)  # fmt: skip
def test_percent(p, text):
    assert percent(p) == text


def test_thresholds_speak_the_brief_s_language():
    from sim.brief import _threshold
    from sim.targets import load_targets

    targets = load_targets()
    assert _threshold(targets["tech_smes_2025"], "en") == "≥ 1000 firms, 2025"
    assert _threshold(targets["tech_smes_2025"], "zh") == "≥ 1000 家，2025年"
    talent = targets["high_level_talent_2021_2025"]
    assert _threshold(talent, "zh") == "≥ 1000 人，2021–2025年"

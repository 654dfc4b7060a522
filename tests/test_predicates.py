"""The shared predicates (sim.predicates) against values computed by hand.

Two runs over year ends 2015…2021 (rows: runs, columns: times):

* ``stock``: a level, 100, 110, 121, 133.1, … (10 % a year) in run 0; 50, 50, … in run 1;
* ``total``: a running total whose yearly amounts are 10, 20, 30, 40, 50, 60 in run 0
  (so the total at year ends is 0, 10, 30, 60, 100, 150, 210) and 5 a year in run 1;
* ``whole``: a running total whose yearly amounts are 100 a year in both runs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.observed import observation_values, predicate_value
from sim.predicates import MissingTimeError, predicate, time_index, years_read

TIMES = np.arange(2015.0, 2022.0)
STOCK = np.array([100.0 * 1.1 ** np.arange(7), np.full(7, 50.0)])
TOTAL = np.array(
    [[0.0, 10.0, 30.0, 60.0, 100.0, 150.0, 210.0], [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]]
)
WHOLE = np.array([100.0 * np.arange(7), 100.0 * np.arange(7)])
SERIES = {"stock": STOCK, "total": TOTAL, "whole": WHOLE}


def value(**predicate_fields):
    return predicate(SERIES, TIMES, **predicate_fields)


def test_level_of_a_stock_and_of_a_running_total():
    np.testing.assert_allclose(
        value(quantity="stock", aggregate="level", kind="level", year=2017), [121.0, 50.0]
    )
    # the amount for calendar year 2018 is Q(2018) - Q(2017)
    np.testing.assert_allclose(
        value(quantity="total", aggregate="annual", kind="level", year=2018), [30.0, 5.0]
    )


def test_growth_of_a_stock_and_of_yearly_amounts():
    # (Q(2020) / Q(2015)) ** (1/5) - 1 = 10 % in run 0, 0 % in run 1
    np.testing.assert_allclose(
        value(quantity="stock", aggregate="level", kind="growth", window=(2016, 2020)),
        [0.1, 0.0],
        atol=1e-15,
    )
    # yearly amounts 20 (2017) → 60 (2021): (60/20) ** (1/4) - 1; run 1 flat
    np.testing.assert_allclose(
        value(quantity="total", aggregate="annual", kind="growth", window=(2018, 2021)),
        [3.0**0.25 - 1.0, 0.0],
        atol=1e-15,
    )


def test_cumulative_amount_and_net_increase():
    # amounts of 2018…2021: 30 + 40 + 50 + 60 = 210 − 30
    np.testing.assert_allclose(
        value(quantity="total", aggregate="annual", kind="cumulative", window=(2018, 2021)),
        [180.0, 20.0],
    )
    # net increase of a level over 2016…2020: Q(2020) − Q(2015)
    np.testing.assert_allclose(
        value(quantity="stock", aggregate="level", kind="cumulative", window=(2016, 2020)),
        [100.0 * 1.1**5 - 100.0, 0.0],
    )


def test_share_of_yearly_amounts():
    # 2019: 40 of 100 and 5 of 100
    np.testing.assert_allclose(
        value(quantity="total", aggregate="annual", kind="share", year=2019, denominator="whole"),
        [0.4, 0.05],
    )
    # a level over a running total's yearly amount
    np.testing.assert_allclose(
        value(
            quantity="stock",
            aggregate="level",
            kind="share",
            year=2016,
            denominator="whole",
            denominator_aggregate="annual",
        ),
        [1.1, 0.5],
    )


def test_undefined_values_are_nan_without_warnings():
    series = {"q": np.array([[0.0, 1.0, 2.0], [-1.0, 1.0, 2.0]]), "d": np.zeros((2, 3))}
    times = [2015.0, 2016.0, 2017.0]
    with np.errstate(all="raise"):
        growth = predicate(series, times, quantity="q", aggregate="level", kind="growth",
                           window=(2016, 2017))  # fmt: skip
        share = predicate(series, times, quantity="q", aggregate="level", kind="share",
                          year=2017, denominator="d")  # fmt: skip
    assert np.isnan(growth).all()  # start 0, and a negative start
    assert np.isnan(share).all()


def test_any_leading_shape_and_broadcasting():
    cube = np.stack([STOCK, STOCK * 2])  # (2, 2, time)
    out = predicate({"stock": cube}, TIMES, quantity="stock", aggregate="level", kind="level",
                    year=2015)  # fmt: skip
    np.testing.assert_allclose(out, [[100.0, 50.0], [200.0, 100.0]])
    one = predicate({"stock": STOCK[0]}, TIMES, quantity="stock", aggregate="level",
                    kind="level", year=2016)  # fmt: skip
    assert np.ndim(one) == 0 and float(one) == pytest.approx(110.0)


def test_missing_year_end_names_it():
    with pytest.raises(MissingTimeError, match="Time = 2014"):
        value(quantity="stock", aggregate="level", kind="growth", window=(2015, 2016))
    with pytest.raises(ValueError, match="unknown predicate kind"):
        value(quantity="stock", aggregate="level", kind="mean", year=2016)
    assert time_index(TIMES + 1e-9, 2016) == 1


def test_years_read():
    assert years_read("level", "level", year=2020) == (2020,)
    assert years_read("level", "annual", year=2020) == (2019, 2020)
    assert years_read("growth", "annual", window=(2021, 2025)) == (2019, 2020, 2024, 2025)
    assert years_read("growth", "level", window=(2021, 2025)) == (2020, 2025)
    assert years_read("cumulative", "annual", window=(2021, 2025)) == (2020, 2025)
    assert years_read("share", "level", year=2025) == (2025,)
    assert years_read("share", "level", year=2025, denominator_aggregate="annual") == (
        2024,
        2025,
    )


def test_observed_wrappers_use_the_same_predicates():
    from sim.observed import Observation

    rows = [
        Observation("a", 1.0, "", 0.1, "", "", "", "calibrate", quantity="stock",
                    aggregate="level", kind="growth", window=(2016, 2020)),
        Observation("b", 1.0, "", 0.1, "", "", "", "calibrate", quantity="total",
                    aggregate="annual", kind="share", year=2019, denominator="whole"),
    ]  # fmt: skip
    table = observation_values(rows, SERIES, TIMES)
    assert table.shape == (2, 2)
    np.testing.assert_allclose(table[:, 1], [0.4, 0.05])
    single = predicate_value({k: v[0] for k, v in SERIES.items()}, TIMES, quantity="stock",
                             aggregate="level", kind="growth", window=(2016, 2020))  # fmt: skip
    assert math.isclose(single, 0.1)

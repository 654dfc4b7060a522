"""Prior catalogue: loading, checking and the unit-cube maps samplers and fits work in."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest

from sim.errors import InputError
from sim.priors import Prior, from_unit, load_priors, sample, to_unit, unit_design
from sim.resources import model_dir


def test_shipped_priors_load_in_file_order():
    priors = load_priors()
    with open(model_dir() / "priors.toml", "rb") as handle:
        raw = tomllib.load(handle)["priors"]
    assert list(priors) == list(raw)
    for name, prior in priors.items():
        assert (prior.low, prior.high, prior.distribution) == (
            raw[name]["low"],
            raw[name]["high"],
            raw[name]["distribution"],
        )
        assert prior.reason


def test_unit_maps_are_the_quantile_function_and_its_inverse():
    flat = Prior("a", 2.0, 6.0, "uniform")
    log = Prior("b", 0.01, 1.0, "loguniform")
    np.testing.assert_allclose(flat.from_unit([0.0, 0.25, 1.0]), [2.0, 3.0, 6.0])
    # log-uniform: the unit-cube midpoint is the geometric mean
    np.testing.assert_allclose(log.from_unit([0.0, 0.5, 1.0]), [0.01, 0.1, 1.0])
    u = np.linspace(0, 1, 11)
    np.testing.assert_allclose(log.to_unit(log.from_unit(u)), u, atol=1e-15)
    priors = {"a": flat, "b": log}
    points = np.array([[0.5, 0.5], [1.0, 0.0]])
    values = from_unit(priors, points)
    np.testing.assert_allclose(values["a"], [4.0, 6.0])
    np.testing.assert_allclose(to_unit(priors, values), points, atol=1e-15)


def test_sobol_sample_is_seeded_and_log_uniform_in_log_space():
    priors = {"b": Prior("b", 0.01, 1.0, "loguniform"), "a": Prior("a", 0.0, 1.0, "uniform")}
    first = sample(priors, 1024, seed=7)
    again = sample(priors, 1024, seed=7)
    np.testing.assert_array_equal(first["b"], again["b"])
    assert not np.array_equal(first["b"], sample(priors, 1024, seed=8)["b"])
    # half of a log-uniform sample lies below the geometric mean
    assert np.mean(first["b"] < 0.1) == pytest.approx(0.5, abs=0.01)
    assert unit_design(3, 64, seed=1, method="lhs").shape == (64, 3)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('[priors.x]\nlow = 2\nhigh = 1\ndistribution = "uniform"\n', "priors.x.low"),
        ('[priors.x]\nlow = 0\nhigh = 1\ndistribution = "loguniform"\n', "must be positive"),
        ('[priors.x]\nlow = 0\nhigh = 1\ndistribution = "normal"\n', "'uniform'"),
        ('[priors.x]\nlow = 0\nhigh = 1\ndistribution = "uniform"\nmean = 1\n', "priors.x.mean"),
        ('[priors.x]\nlow = "a"\nhigh = 1\ndistribution = "uniform"\n', "priors.x.low"),
        ("[priors.x]\nlow = 0\nhigh = 1\n", "priors.x.distribution"),
    ],
)
def test_bad_priors_are_input_errors(tmp_path, body, fragment):
    path = tmp_path / "priors.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_priors(path)
    assert fragment in caught.value.one_line() and str(path) in caught.value.one_line()


def test_log_uniform_mapping_matches_its_definition():
    prior = Prior("c", 60.0, 250.0, "loguniform")
    assert float(prior.from_unit(0.3)) == pytest.approx(
        math.exp(math.log(60) + 0.3 * math.log(250 / 60))
    )

"""A stand-in for an engine model with closed-form dynamics, for testing the layers above it.

It has the engine's ``run`` signature and output shape (``run × time`` Dataset with units and
names on each variable) and reads the constants of ``tests/data/levers.toml``, so scenario,
sweep and target code can be tested exactly without the real engine:

* ``high_tech_enterprises(t) = 114 · exp(g · (t − 2015))`` with
  ``g = 0.05 + 0.1 · certification_support + 0.02 · talent_programme_intensity``;
* ``retail_sales_total`` is the running total of a retail-sales rate
  ``800 · exp(0.06 · consumption_stimulus_spending · (t − 2015))`` (亿元/Year), integrated in
  closed form, so yearly amounts are exact differences;
* ``services_value_added_total`` and ``gdp_total``: running totals of 0.9 × GDP and GDP with
  GDP = ``900 + 10 · building_upgrade_rate · (t − 2015)`` (亿元/Year);
* ``unstable_quantity = log(1 − instability · (t − 2015) / 10)``: NaN once
  ``instability · (t − 2015) > 10``, to test the non-finite check.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

INITIAL_TIME = 2015.0

CONSTANTS = {
    "talent_programme_intensity": 1.0,
    "talent_programme_unit_cost": 0.8,
    "incubator_capacity": 24.0,
    "certification_support": 0.2,
    "building_upgrade_rate": 2.0,
    "hq_attraction_intensity": 1.0,
    "consumption_stimulus_spending": 1.0,
    "old_street_areas_renewed": 2.0,
    "digital_infrastructure_intensity": 1.0,
    "business_environment_index": 0.5,
    "instability": 0.0,
    "talent_residence_time": 10.0,
}

VARIABLES = {
    "high_tech_enterprises": ("firms", "High-tech enterprises", "高新技术企业"),
    "retail_sales_total": ("亿元", "Retail sales, running total", "社会消费品零售总额累计"),
    "services_value_added_total": (
        "亿元",
        "Services value added, running total",
        "服务业增加值累计",
    ),
    "gdp_total": ("亿元", "GDP, running total", "地区生产总值累计"),
    "unstable_quantity": ("1", "A quantity that can fail", "不稳定量"),
}


class FakeModel:
    """Closed-form model with the engine's ``run`` signature; counts its calls."""

    def __init__(self, final_time: float = 2025.0, time_step: float = 0.25, saveper: float = 1.0):
        self.constants = list(CONSTANTS)
        self.final_time = final_time
        self.time_step = time_step
        self.saveper = saveper
        self.calls: list[dict] = []

    def run(
        self,
        params=None,
        n=None,
        *,
        final_time=None,
        time_step=None,
        saveper=None,
        return_columns=None,
    ) -> xr.Dataset:
        params = dict(params or {})
        n = 1 if n is None else int(n)
        unknown = set(params) - set(CONSTANTS)
        if unknown:
            raise KeyError(f"unknown constants {sorted(unknown)}")
        self.calls.append({"n": n, "params": params, "return_columns": return_columns})
        values = {}
        for name, default in CONSTANTS.items():
            value = np.asarray(params.get(name, default), dtype=float)
            if value.ndim and value.shape != (n,):
                raise ValueError(f"{name}: expected a scalar or {n} values, got {value.shape}")
            values[name] = np.broadcast_to(value, (n,))[:, None]
        final = self.final_time if final_time is None else final_time
        step = self.saveper if saveper is None else saveper
        time = INITIAL_TIME + step * np.arange(round((final - INITIAL_TIME) / step) + 1)
        t = (time - INITIAL_TIME)[None, :]

        growth = (
            0.05
            + 0.1 * values["certification_support"]
            + 0.02 * values["talent_programme_intensity"]
        )
        rate = 0.06 * values["consumption_stimulus_spending"]
        upgrade = values["building_upgrade_rate"]
        gdp_total = 900 * t + 5 * upgrade * t**2
        with np.errstate(invalid="ignore", divide="ignore"):
            unstable = np.log(1 - values["instability"] * t / 10)
        data = {
            "high_tech_enterprises": 114 * np.exp(growth * t),
            "retail_sales_total": np.where(
                rate > 0, 800 * np.expm1(rate * t) / np.where(rate > 0, rate, 1), 800 * t
            ),
            "services_value_added_total": 0.9 * gdp_total,
            "gdp_total": gdp_total,
            "unstable_quantity": unstable,
        }
        data.update(values)  # constants are variables too, constant in time
        labels = {**VARIABLES, **{name: ("", name, "") for name in CONSTANTS}}
        columns = list(VARIABLES) if return_columns is None else list(return_columns)
        return xr.Dataset(
            {
                name: xr.Variable(
                    ("run", "time"),
                    np.broadcast_to(data[name], (n, time.size)).copy(),
                    dict(zip(("units", "long_name", "long_name_zh"), labels[name], strict=True)),
                )
                for name in columns
            },
            coords={"run": np.arange(n), "time": time},
        )

"""Model.run: shapes, names, attrs, purity, batch invariants and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine import load_model
from sim.errors import InputError

TEACUP = "samples/teacup/teacup.mdl"


@pytest.fixture(scope="module")
def teacup(test_models_dir):
    return load_model(test_models_dir / TEACUP)


def test_dataset_layout_names_and_attrs(teacup):
    ds = teacup.run(n=4)
    assert ds["teacup_temperature"].dims == ("run", "time")
    assert ds.sizes == {"run": 4, "time": 241}
    assert ds.time.values[0] == 0 and ds.time.values[-1] == 30
    attrs = ds["teacup_temperature"].attrs
    assert attrs["long_name"] == "Teacup Temperature"
    assert attrs["units"] == "Degrees Fahrenheit"
    assert len(ds.attrs["model_sha256"]) == 64


def test_exported_from_package(test_models_dir):
    import sim

    assert sim.load_model is load_model
    assert isinstance(sim.load_model(test_models_dir / TEACUP), sim.Model)


def test_params_per_run_and_scalars(teacup):
    ds = teacup.run({"room_temperature": [60.0, 70.0, 80.0], "Characteristic Time": 5}, n=3)
    final = ds["teacup_temperature"].isel(time=-1).values
    assert np.all(np.diff(final) > 0)  # a warmer room keeps the tea warmer
    assert np.all(ds["characteristic_time"].values == 5)


def test_runs_are_pure(teacup):
    default = teacup.run()
    changed = teacup.run({"room_temperature": 20.0})
    again = teacup.run()
    assert not np.allclose(changed["teacup_temperature"], default["teacup_temperature"])
    np.testing.assert_array_equal(again["teacup_temperature"], default["teacup_temperature"])


@settings(max_examples=20, deadline=None)
@given(
    rooms=st.lists(st.floats(0, 100), min_size=2, max_size=6),
    times=st.lists(st.floats(1, 30), min_size=2, max_size=6),
)
def test_a_run_in_a_batch_equals_the_run_alone(teacup, rooms, times):
    n = min(len(rooms), len(times))
    params = {"room_temperature": rooms[:n], "characteristic_time": times[:n]}
    batch = teacup.run(params, n=n)
    for i in range(n):
        alone = teacup.run({k: v[i] for k, v in params.items()})
        np.testing.assert_array_equal(
            batch["teacup_temperature"].isel(run=i), alone["teacup_temperature"].isel(run=0)
        )


def test_permuting_a_batch_permutes_its_results(teacup):
    rooms = np.array([10.0, 50.0, 90.0, 30.0])
    order = np.array([2, 0, 3, 1])
    a = teacup.run({"room_temperature": rooms})["teacup_temperature"].values
    b = teacup.run({"room_temperature": rooms[order]})["teacup_temperature"].values
    np.testing.assert_array_equal(a[order], b)


def test_control_overrides(teacup):
    ds = teacup.run(final_time=10, saveper=1, time_step=0.5)
    np.testing.assert_array_equal(ds.time.values, np.arange(0, 11.0))


def test_return_columns_store_only_what_was_asked(teacup):
    ds = teacup.run(n=2, return_columns=["Teacup Temperature"])
    assert list(ds.data_vars) == ["teacup_temperature"]
    assert teacup.evaluated_per_step(["teacup_temperature"]) <= teacup.evaluated_per_step()


def test_unknown_parameter_suggests_the_nearest(teacup):
    with pytest.raises(InputError) as err:
        teacup.run({"room_temprature": 20})
    assert "room_temperature" in err.value.one_line()


def test_only_constants_are_parameters(teacup):
    with pytest.raises(InputError, match="only constants"):
        teacup.run({"heat_loss_to_room": 1.0})


def test_parameter_length_must_match_n(teacup):
    with pytest.raises(InputError, match="length n=3"):
        teacup.run({"room_temperature": [1.0, 2.0]}, n=3)


def test_unsupported_function_names_function_and_element(tmp_path):
    path = tmp_path / "m.mdl"
    path.write_text(
        "{UTF-8}\nx = GET TIME VALUE(0, 0, 0)\n ~ ~ |\nFINAL TIME = 1\n ~ ~ |\n"
        "INITIAL TIME = 0\n ~ ~ |\nSAVEPER = 1\n ~ ~ |\nTIME STEP = 1\n ~ ~ |\n"
    )
    with pytest.raises(InputError) as err:
        load_model(path)
    text = err.value.one_line()
    assert "GET TIME VALUE" in text and ": x:" in text


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_model(tmp_path / "absent.mdl")


def test_subscripted_variables_get_their_own_dims(test_models_dir):
    model = load_model(test_models_dir / "tests/subscript_2d_arrays/test_subscript_2d_arrays.mdl")
    ds = model.run(n=2)
    stock = ds["stock_a"]
    assert stock.dims[:2] == ("run", "time") and len(stock.dims) == 4
    assert stock.shape[2:] == (3, 2)


def test_threaded_chunks_equal_one_chunk(teacup):
    rooms = np.linspace(0, 100, 5000)
    default = teacup.threads
    teacup.threads = 1
    try:
        single = teacup.run({"room_temperature": rooms})["teacup_temperature"].values
        teacup.threads = 3
        chunked = teacup.run({"room_temperature": rooms})["teacup_temperature"].values
    finally:
        teacup.threads = default
    np.testing.assert_array_equal(single, chunked)


def test_non_numeric_parameter_is_input_error(teacup):
    with pytest.raises(InputError, match="not numeric"):
        teacup.run({"room_temperature": "warm"})


def test_chinese_long_name_is_the_parenthesised_term_of_the_comment(tmp_path):
    from sim import load_model

    mdl = tmp_path / "named.mdl"
    mdl.write_text(
        "{UTF-8}\n"
        "buildings = INTEG(0, 89)\n~ buildings\n"
        "~ Key buildings of 5000 m2 or more (5000平方米以上重点商务楼宇).\n"
        "  Record: 培育大型商务楼宇89座.\n|\n"
        "sales = 10\n~ 亿元/Year\n~ Retail sales, 社会消费品零售总额, without brackets.\n|\n"
        "plain = 1\n~ dmnl\n~ No Chinese here.\n|\n"
        # Chinese words after the first sentence, or bracketed with Latin text, are sources
        "rate = 0.1\n~ 1/Year\n~ Trend growth. Record: 810亿元 (十三五 review).\n|\n"
        "validity = 3\n~ Year\n~ Three years (高新技术企业认定管理办法, Article 9).\n|\n"
        "茶杯温度 = 1\n~ dmnl\n~ A Chinese variable name is its own Chinese name.\n|\n"
        "INITIAL TIME = 0\n~ Year\n~ start\n|\nFINAL TIME = 1\n~ Year\n~ end\n|\n"
        "TIME STEP = 1\n~ Year\n~ step\n|\nSAVEPER = TIME STEP\n~ Year\n~ save\n|\n",
        encoding="utf-8",
    )
    ds = load_model(mdl).run()
    assert ds["buildings"].attrs["long_name_zh"] == "5000平方米以上重点商务楼宇"
    (chinese,) = [v for v in ds.data_vars.values() if v.attrs["long_name"] == "茶杯温度"]
    assert chinese.attrs["long_name_zh"] == "茶杯温度"
    for unnamed in ("sales", "plain", "rate", "validity"):
        assert "long_name_zh" not in ds[unnamed].attrs, unnamed


def test_model_without_control_variables_is_bad_input(tmp_path):
    from sim import load_model
    from sim.errors import InputError

    mdl = tmp_path / "nocontrols.mdl"
    mdl.write_text("{UTF-8}\nx = INTEG(1, 0)\n~ u\n~ c\n|\n", encoding="utf-8")
    with pytest.raises(InputError, match="SAVEPER"):
        load_model(mdl)

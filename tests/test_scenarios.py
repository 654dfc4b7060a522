"""Scenario files: validation messages, inheritance, round trips, and fuzzing the parser."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import InputError
from sim.scenarios import (
    RunSettings,
    Scenario,
    check_parameters,
    dump_scenario,
    load_levers,
    load_scenario,
    load_scenario_text,
    save_scenario,
)

DATA = Path(__file__).parent / "data"
CATALOGUE = load_levers(DATA / "levers.toml")


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_scenario(path, CATALOGUE)
    text = info.value.one_line()
    assert "\n" not in text
    return text


# ----------------------------------------------------------------- valid files


def test_unset_levers_take_the_status_quo(tmp_path):
    path = write(tmp_path, "s", 'name = "s"\n[levers]\ntalent_programme = 3\n')
    scenario = load_scenario(path, CATALOGUE)
    assert scenario.levers["talent_programme"] == 3.0
    assert scenario.levers["building_upgrade"] == CATALOGUE["building_upgrade"].status_quo
    assert set(scenario.levers) == set(CATALOGUE)
    assert scenario.title_en == "s" and scenario.title_zh == "s"
    assert scenario.run == RunSettings()
    assert len(scenario.sha256) == 64


def test_base_inheritance_overrides_levers_parameters_and_run(tmp_path):
    write(
        tmp_path,
        "parent",
        'name = "parent"\n[levers]\ntalent_programme = 3\nbuilding_upgrade = 4\n'
        "[parameters]\ntalent_residence_time = 8\n[run]\nfinal_time = 2030\nsaveper = 0.5\n",
    )
    child = write(
        tmp_path,
        "child",
        'name = "child"\nbase = "parent"\n[levers]\nbuilding_upgrade = 1\n[run]\nsaveper = 1\n',
    )
    scenario = load_scenario(child, CATALOGUE)
    assert scenario.levers["talent_programme"] == 3.0  # inherited
    assert scenario.levers["building_upgrade"] == 1.0  # overridden
    assert scenario.parameters == {"talent_residence_time": 8.0}
    assert scenario.run == RunSettings(final_time=2030.0, saveper=1.0)
    assert scenario.base == "parent"
    assert [Path(f).name for f, _ in scenario.sources] == ["child.toml", "parent.toml"]


def test_base_by_relative_path(tmp_path):
    (tmp_path / "lib").mkdir()
    write(tmp_path / "lib", "root", 'name = "root"\n[levers]\nhq_attraction = 2.5\n')
    child = write(tmp_path, "child", 'name = "child"\nbase = "lib/root.toml"\n')
    assert load_scenario(child, CATALOGUE).levers["hq_attraction"] == 2.5


# ----------------------------------------------------------------- one-line errors


def test_misspelt_lever_names_the_nearest_lever(tmp_path):
    path = write(tmp_path, "s", 'name = "s"\n[levers]\ntalent_programe = 2\n')
    text = error_of(path)
    assert text.startswith(f"{path}: levers.talent_programe: unknown lever")
    assert "did you mean 'talent_programme'" in text


def test_out_of_range_names_the_range_and_the_unit(tmp_path):
    path = write(tmp_path, "s", 'name = "s"\n[levers]\nbuilding_upgrade = 7.5\n')
    text = error_of(path)
    assert "levers.building_upgrade" in text
    assert "[0, 6] buildings/Year" in text
    assert "7.5" in text


@pytest.mark.parametrize(
    ("body", "key", "expected"),
    [
        ('name = "s"\n[levers]\ntalent_programme = "high"\n', "levers.talent_programme", "number"),
        ('name = "s"\n[levers]\ntalent_programme = true\n', "levers.talent_programme", "number"),
        ('name = "s"\n[levers]\ntalent_programme = nan\n', "levers.talent_programme", "finite"),
        ('name = "s"\nlevers = 3\n', "levers", "table"),
        ("name = 5\n", "name", "string"),
        ('name = "s"\n[run]\ntime_step = -1\n', "run.time_step", "positive"),
        ('name = "s"\n[run]\nfinal_tme = 2030\n', "run.final_tme", "final_time"),
        ('name = "s"\ntitle = "x"\n', "title", "title_en"),
        ('name = "s"\n[parameters]\ntalent_programme_intensity = 2\n', "parameters.", "lever"),
        ('title_en = "no name"\n', "name", "name ="),
        ('name = "../etc"\n', "name", "letters"),
        ('name = "s"\n[levers]\nhq_attraction = 99999999999999999999999999999\n', "levers", ""),
    ],
)
def test_bad_values_are_one_line_with_file_and_key(tmp_path, body, key, expected):
    path = write(tmp_path, "s", body)
    text = error_of(path)
    assert text.startswith(str(path))
    assert key in text
    assert expected in text


def test_invalid_toml_is_one_line(tmp_path):
    text = error_of(write(tmp_path, "s", 'name = "s"\n[levers\n'))
    assert "invalid TOML" in text


def test_missing_file(tmp_path):
    text = error_of(tmp_path / "nope.toml")
    assert "nope.toml: no such file" in text


def test_not_utf8(tmp_path):
    path = tmp_path / "s.toml"
    path.write_bytes(b'name = "\xff"\n')
    assert "not UTF-8" in error_of(path)


def test_cycle_in_base(tmp_path):
    write(tmp_path, "a", 'name = "a"\nbase = "b"\n')
    write(tmp_path, "b", 'name = "b"\nbase = "c"\n')
    write(tmp_path, "c", 'name = "c"\nbase = "a"\n')
    text = error_of(tmp_path / "a.toml")
    assert "cycle in base: a.toml → b.toml → c.toml → a.toml" in text


def test_self_base_is_a_cycle(tmp_path):
    assert "cycle in base" in error_of(write(tmp_path, "a", 'name = "a"\nbase = "a"\n'))


def test_missing_base_suggests_a_sibling(tmp_path):
    write(tmp_path, "baseline", 'name = "baseline"\n')
    text = error_of(write(tmp_path, "s", 'name = "s"\nbase = "baseline2"\n'))
    assert "base scenario not found" in text and "did you mean 'baseline'" in text


def test_error_in_base_names_the_base_file(tmp_path):
    parent = write(tmp_path, "parent", 'name = "parent"\n[levers]\nhq_atraction = 1\n')
    text = error_of(write(tmp_path, "child", 'name = "child"\nbase = "parent"\n'))
    assert text.startswith(f"{parent}: levers.hq_atraction")


def test_parameters_checked_against_model_constants(tmp_path):
    path = write(tmp_path, "s", 'name = "s"\n[parameters]\ntalent_residence_tim = 3\n')
    scenario = load_scenario(path, CATALOGUE)
    with pytest.raises(InputError) as info:
        check_parameters([scenario], {"talent_residence_time": 10.0, "other": 1.0})
    text = info.value.one_line()
    assert "parameters.talent_residence_tim" in text
    assert "did you mean 'talent_residence_time'" in text


def test_lever_catalogue_errors_name_the_file(tmp_path):
    bad = tmp_path / "levers.toml"
    bad.write_text(
        '[levers.x]\nname_en = "x"\nname_zh = "x"\nunit = "u"\nstatus_quo = 5\nmin = 0\nmax = 1\n'
        'constant = "x"\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"levers.x.status_quo: status_quo 5 outside"):
        load_levers(bad)


# ----------------------------------------------------------------- round trip


def test_dump_then_load_gives_the_same_scenario(tmp_path):
    write(tmp_path, "parent", 'name = "parent"\n[levers]\ntalent_programme = 3\n')
    child = load_scenario(
        write(
            tmp_path,
            "child",
            'name = "child"\nbase = "parent"\ntitle_zh = "子"\ndescription = "“引号”\\n两行"\n'
            "[parameters]\ntalent_residence_time = 8\n[run]\nfinal_time = 2025\n",
        ),
        CATALOGUE,
    )
    save_scenario(child, tmp_path / "out" / "child.toml")
    again = load_scenario(tmp_path / "out" / "child.toml", CATALOGUE)
    assert again == child
    assert again.base is None  # dumped fully resolved


NAME = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,20}", fullmatch=True)
PYTHON_NAME = st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True).filter(
    lambda n: n not in {lever.constant for lever in CATALOGUE.values()}
)


@st.composite
def valid_scenarios(draw) -> dict:
    data = {"name": draw(NAME)}
    for key in ("title_en", "title_zh", "description"):
        if draw(st.booleans()):
            data[key] = draw(st.text(max_size=40))
    keys = draw(st.lists(st.sampled_from(list(CATALOGUE)), unique=True, max_size=len(CATALOGUE)))
    data["levers"] = {
        key: draw(
            st.floats(CATALOGUE[key].min, CATALOGUE[key].max)
            | st.integers(int(CATALOGUE[key].min), int(CATALOGUE[key].max))
        )
        for key in keys
    }
    params = draw(st.dictionaries(PYTHON_NAME, st.floats(allow_nan=False, allow_infinity=False)))
    if params:
        data["parameters"] = params
    run = {}
    if draw(st.booleans()):
        run["final_time"] = draw(st.floats(2016, 2035))
    if draw(st.booleans()):
        step = draw(st.floats(0.001, 1))
        run["time_step"] = step
        run["saveper"] = step * draw(st.integers(1, 8))
    if run:
        data["run"] = run
    return data


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(valid_scenarios())
def test_round_trip_is_exact(tmp_path_factory, data):
    first = load_scenario_text(tomli_w.dumps(data), CATALOGUE, directory=Path("."))
    text = dump_scenario(first)
    second = load_scenario_text(text, CATALOGUE, directory=Path("."))
    assert second == first
    assert dump_scenario(second) == text
    for key, value in data["levers"].items():
        assert first.levers[key] == float(value)


# ----------------------------------------------------------------- fuzzing


def assert_clean(text: str, directory: Path) -> None:
    try:
        scenario = load_scenario_text(text, CATALOGUE, directory=directory)
    except InputError as err:
        line = err.one_line()
        assert line and "\n" not in line
        return
    assert isinstance(scenario, Scenario)
    for key, value in scenario.levers.items():
        assert CATALOGUE[key].min <= value <= CATALOGUE[key].max


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_text_is_a_scenario_or_a_clean_error(tmp_path_factory, text):
    assert_clean(text, tmp_path_factory.getbasetemp())


TOML_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.dates()
    | st.datetimes()
)
PLAUSIBLE_KEYS = st.sampled_from(
    ["name", "title_en", "title_zh", "description", "base", "levers", "parameters", "run"]
) | st.text(string.ascii_letters + "_", min_size=1, max_size=12)
INNER_KEYS = st.sampled_from(
    [*CATALOGUE, "final_time", "time_step", "saveper", "talent_residence_time"]
) | st.text(min_size=1, max_size=12)


def _values(depth: int):
    if depth == 0:
        return TOML_SCALARS
    inner = _values(depth - 1)
    return (
        TOML_SCALARS | st.lists(inner, max_size=3) | st.dictionaries(INNER_KEYS, inner, max_size=4)
    )


def _drop_none(value):
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value if v is not None]
    return value


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(PLAUSIBLE_KEYS, _values(2), max_size=8))
def test_any_toml_document_is_a_scenario_or_a_clean_error(tmp_path_factory, data):
    directory = tmp_path_factory.getbasetemp()
    try:
        text = tomli_w.dumps(_drop_none(data))
    except (TypeError, ValueError):
        return  # not representable as TOML (e.g. mixed arrays tomli-w refuses)
    assert_clean(text, directory)

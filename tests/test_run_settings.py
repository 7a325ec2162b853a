"""Tests for protlab.runs.settings: class settings from PROTLAB_* variables and $PROTLAB_HOME/class.toml."""

from __future__ import annotations

import os

import pytest

from protlab.errors import ConfigError
from protlab.runs import ClassSettings


def test_defaults_without_file_or_variables(tmp_path) -> None:
    settings = ClassSettings.from_env({}, home=tmp_path)
    assert settings == ClassSettings()
    assert (settings.max_queued, settings.epoch_cap, settings.executor, settings.threads_per_run) == (
        200,
        None,
        "local",
        1,
    )
    assert settings.resolved_workers == max(1, (os.cpu_count() or 1) // 1)
    assert ClassSettings(threads_per_run=2).resolved_workers == max(1, (os.cpu_count() or 1) // 2)
    assert ClassSettings(workers=7).resolved_workers == 7


def test_class_toml_is_read_and_variables_override_it(tmp_path) -> None:
    (tmp_path / "class.toml").write_text(
        'workers = 3\nmax_queued = 50\nepoch_cap = 30\nexecutor = "ray"\n'
        'ray_address = "ray://head:10001"\nthreads_per_run = 2\ngpus_per_run = 1\n'
    )
    from_file = ClassSettings.from_env({}, home=tmp_path)
    assert from_file == ClassSettings(
        workers=3,
        max_queued=50,
        epoch_cap=30,
        executor="ray",
        ray_address="ray://head:10001",
        threads_per_run=2,
        gpus_per_run=1.0,
    )
    env = {
        "PROTLAB_WORKERS": "5",
        "PROTLAB_EPOCH_CAP": "none",
        "PROTLAB_EXECUTOR": "local",
        "PROTLAB_GPUS_PER_RUN": "0.5",
        "PROTLAB_MAX_QUEUED": " 10 ",
    }
    merged = ClassSettings.from_env(env, home=tmp_path)
    assert (merged.workers, merged.epoch_cap, merged.executor, merged.gpus_per_run, merged.max_queued) == (
        5,
        None,
        "local",
        0.5,
        10,
    )
    assert merged.threads_per_run == 2  # still from the file


def test_home_comes_from_protlab_home(tmp_path) -> None:
    (tmp_path / "class.toml").write_text("max_queued = 7\n")
    assert ClassSettings.from_env({"PROTLAB_HOME": str(tmp_path)}).max_queued == 7


@pytest.mark.parametrize(
    "env,message",
    [
        ({"PROTLAB_WORKERS": "many"}, "PROTLAB_WORKERS must be a whole number; got 'many'."),
        (
            {"PROTLAB_WORKERS": "-1"},
            "workers must be an integer from 0 to 1024 (0 = one per threads_per_run cores); got -1.",
        ),
        ({"PROTLAB_MAX_QUEUED": "0"}, "max_queued must be an integer from 1 to 100000; got 0."),
        (
            {"PROTLAB_EPOCH_CAP": "0"},
            "epoch_cap must be an integer from 1 to 1000 (leave it out for no cap); got 0.",
        ),
        (
            {"PROTLAB_EXECUTOR": "threads"},
            "executor must be one of 'local', 'ray' or 'inprocess'; got 'threads'.",
        ),
        ({"PROTLAB_THREADS_PER_RUN": "0"}, "threads_per_run must be an integer from 1 to 256; got 0."),
        ({"PROTLAB_GPUS_PER_RUN": "lots"}, "PROTLAB_GPUS_PER_RUN must be a number; got 'lots'."),
        ({"PROTLAB_GPUS_PER_RUN": "nan"}, "gpus_per_run must be a number from 0 to 64; got nan."),
    ],
)
def test_bad_variables_are_refused_with_the_setting_named(tmp_path, env: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        ClassSettings.from_env(env, home=tmp_path)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "text,message",
    [
        ("workers = 2\nqueue = 5\n", "has unknown setting(s) ['queue']; allowed settings are"),
        ("workers = \n", "is not valid TOML"),
        (
            'epoch_cap = "ten"\n',
            "epoch_cap must be an integer from 1 to 1000 (leave it out for no cap); got 'ten'.",
        ),
        ("ray_address = ''\n", "ray_address must be a non-empty text"),
    ],
)
def test_bad_class_toml_is_refused_with_a_clear_message(tmp_path, text: str, message: str) -> None:
    (tmp_path / "class.toml").write_text(text)
    with pytest.raises(ConfigError, match=None) as info:
        ClassSettings.from_env({}, home=tmp_path)
    assert message in str(info.value)


def test_settings_are_checked_when_made_directly() -> None:
    with pytest.raises(ConfigError, match="workers must be an integer"):
        ClassSettings(workers=True)
    with pytest.raises(ConfigError, match="max_queued"):
        ClassSettings(max_queued=2.5)

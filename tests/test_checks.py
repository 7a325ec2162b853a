"""Tests for protlab.checks: each rule accepts exactly the values its description promises, and says so."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError, dataclass

import numpy as np
import pytest

from protlab.checks import Choice, Flag, FloatRange, IntRange, check_fields, field_rules, setting
from protlab.errors import ConfigError

# values of many types, including the ones a page or a JSON file can hand over by mistake
VALUES = [
    -3,
    -1,
    0,
    1,
    2,
    3,
    4,
    5,
    30,
    31,
    32,
    4096,
    4097,
    10**12,
    np.int64(7),
    np.int32(0),
    np.uint8(200),
    True,
    False,
    np.bool_(True),
    0.0,
    0.5,
    1.0,
    2.0,
    2.5,
    -0.1,
    1e6,
    1e7,
    np.float32(0.25),
    np.float64(1.0),
    math.nan,
    math.inf,
    -math.inf,
    "3",
    "adam",
    None,
    [1],
    (1,),
    {"a": 1},
    np.array([1, 2]),
    b"1",
]
NUMBER_TYPES = (int, float, np.integer, np.floating)


def _message(rule, value, name="x", label=None) -> str:
    with pytest.raises(ConfigError) as info:
        rule.check(value, name, label)
    return str(info.value)


@pytest.mark.parametrize(
    "low,high,odd", [(1, 4096, False), (0, 1000, False), (1, None, False), (2, None, False), (1, 31, True)]
)
def test_int_range_accepts_exactly_the_integers_in_range(low, high, odd) -> None:
    rule = IntRange(low, high, odd=odd)
    for value in VALUES:
        is_int = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
        expected = is_int and low <= value and (high is None or value <= high) and (not odd or value % 2 == 1)
        assert rule.ok(value) == expected, value
        if expected:
            assert rule.check(value, "x") is value  # an accepted value comes back unchanged


@pytest.mark.parametrize(
    "low,high,low_open,high_open",
    [
        (0, 1, False, False),
        (0, 1e6, True, False),
        (0, 1, False, True),
        (0, 1, True, True),
        (0.2, 1.0, False, False),
        (0, None, False, False),
        (0, None, True, False),
    ],
)
def test_float_range_accepts_exactly_the_finite_numbers_in_range(low, high, low_open, high_open) -> None:
    rule = FloatRange(low, high, low_open=low_open, high_open=high_open)
    for value in VALUES:
        number = isinstance(value, NUMBER_TYPES) and not isinstance(value, (bool, np.bool_))
        expected = (
            number
            and math.isfinite(value)
            and (value > low if low_open else value >= low)
            and (high is None or (value < high if high_open else value <= high))
        )
        assert rule.ok(value) == expected, value


def test_choice_and_flag_accept_exactly_their_values() -> None:
    options = ("adam", 21, None)
    rule = Choice(options)
    for value in VALUES + ["ADAM", 21, 21.0, np.int64(21)]:
        is_21 = isinstance(value, NUMBER_TYPES) and not isinstance(value, bool) and value == 21
        expected = (isinstance(value, str) and value == "adam") or value is None or is_21
        assert rule.ok(value) == expected, value
    assert not Choice((0, 1)).ok(True) and not Choice((True,)).ok(1)  # bool never stands in for an int
    for value in VALUES:
        assert Flag().ok(value) == isinstance(value, (bool, np.bool_)), value


@pytest.mark.parametrize(
    "rule,value,message",
    [
        (IntRange(1, 4096), 0, "batch_size must be an integer from 1 to 4096; got 0."),
        (IntRange(1, 4096), True, "batch_size must be an integer from 1 to 4096; got True."),
        (IntRange(1, 4096), 2.5, "batch_size must be an integer from 1 to 4096; got 2.5."),
        (IntRange(1), 0, "batch_size must be a positive integer; got 0."),
        (IntRange(2), np.int64(0), "batch_size must be an integer of at least 2; got 0."),
        (
            IntRange(1, 31, odd=True, note="so the length is kept"),
            4,
            "batch_size must be an odd integer from 1 to 31 (so the length is kept); got 4.",
        ),
        (
            FloatRange(0, 1e6, low_open=True, note="1e-3 is a good start"),
            math.nan,
            "batch_size must be a number above 0 and at most 1e6 (1e-3 is a good start); got nan.",
        ),
        (
            FloatRange(0, 1, high_open=True, tip="The notes use 0.1."),
            1.5,
            "batch_size must be a number from 0 to below 1; got 1.5. The notes use 0.1.",
        ),
        (
            FloatRange(0, 1, low_open=True, high_open=True),
            -math.inf,
            "batch_size must be a number above 0 and below 1; got -inf.",
        ),
        (FloatRange(0.2, 1.0), 5, "batch_size must be a number from 0.2 to 1.0; got 5."),
        (FloatRange(0, 1e-6), np.float32(0.5), "batch_size must be a number from 0 to 1e-6; got 0.5."),
        (FloatRange(0), "3", "batch_size must be a number of at least 0; got '3'."),
        (Choice(("cpu",)), "gpu", "batch_size must be 'cpu'; got 'gpu'."),
        (
            Choice(("stratified", "homology")),
            "random",
            "batch_size must be 'stratified' or 'homology'; got 'random'.",
        ),
        (
            Choice((None, "softmax", "sigmoid")),
            "relu",
            "batch_size must be one of None, 'softmax' or 'sigmoid'; got 'relu'.",
        ),
        (Flag(), "yes", "batch_size must be true or false; got 'yes'."),
    ],
)
def test_messages_name_the_setting_what_is_allowed_and_the_value(rule, value, message) -> None:
    assert _message(rule, value, "batch_size") == message


def test_a_label_replaces_the_code_name_and_long_values_are_cut() -> None:
    assert _message(IntRange(1, 100_000), 0, "input_dim", "Input size") == (
        "Input size must be an integer from 1 to 100000; got 0."
    )
    text = _message(Choice(("a", "b")), "x" * 1000)
    assert text.startswith("x must be 'a' or 'b'; got 'xxx") and text.endswith("....") and len(text) < 200


def test_rules_are_frozen_values() -> None:
    rule = IntRange(1, 10)
    with pytest.raises(FrozenInstanceError):
        rule.high = 20
    assert rule == IntRange(1, 10) and Choice(["a", "b"]).options == ("a", "b")


@dataclass
class Layer:
    """A test config: three checked fields, one unchecked, one required."""

    width: int = setting(check=IntRange(1, 64))  # no default
    activation: str = setting("relu", Choice(("relu", "tanh")))
    dropout: float = setting(0.0, FloatRange(0, 1, high_open=True))
    names: list = setting(factory=list)  # not checked
    note: str = "free text"  # a plain field, not checked


def test_check_fields_checks_every_ruled_field_in_order_with_labels() -> None:
    check_fields(Layer(8, names=[object()], note=None))  # unchecked fields may hold anything
    with pytest.raises(ConfigError, match="^width must be an integer from 1 to 64; got 0.$"):
        check_fields(Layer(0, "softplus", 2.0))  # the first bad field in declaration order is named
    with pytest.raises(ConfigError, match="^Layer 2 activation must be 'relu' or 'tanh'; got 'softplus'.$"):
        check_fields(Layer(8, "softplus"), {"activation": "Layer 2 activation"})
    with pytest.raises(TypeError):
        Layer()  # a setting without a default is still required
    assert Layer(3).names == [] and Layer(3).names is not Layer(3).names  # factory: a fresh list each time
    assert list(field_rules(Layer)) == ["width", "activation", "dropout"]
    assert field_rules(Layer(3))["width"] == IntRange(1, 64)


def test_an_optional_rule_allows_none_and_still_checks_values() -> None:
    rule = IntRange(1, 10, optional=True)
    assert rule.check(None, "epoch_cap") is None and rule.check(3, "epoch_cap") == 3
    with pytest.raises(ConfigError, match=r"^epoch_cap must be an integer from 1 to 10; got 0\.$"):
        rule.check(0, "epoch_cap")
    with pytest.raises(ConfigError, match="got None"):
        IntRange(1, 10).check(None, "epoch_cap")  # not optional: None is refused

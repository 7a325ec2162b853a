"""Declarative range checks: each setting states once what it allows, and every refusal reads the same way.

A rule says which values one setting allows and refuses any other with a ConfigError:

    IntRange(1, 4096)                  an integer from 1 to 4096 (True/False are not integers)
    IntRange(1)                        a positive integer (no upper limit)
    IntRange(1, 31, odd=True)          an odd integer from 1 to 31
    FloatRange(0, 1e6, low_open=True)  a number above 0 and at most 1e6 (NaN and infinity are refused)
    FloatRange(0, 1, high_open=True)   a number from 0 to below 1
    Choice(("sgd", "adam"))            'sgd' or 'adam'
    Flag()                             true or false
    IntRange(1, 1000, optional=True)   the same, or None (a setting that may be left out)

Every message names the setting, what is allowed and the value received:
"batch_size must be an integer from 1 to 4096; got 0."  A rule's `note` is added in brackets after what
is allowed, its `tip` as a sentence after the value: "epochs must be an integer from 1 to 1000 (at least
1 epoch is needed to learn anything); got 0."

Dataclass configs declare each field with its rule (setting() is dataclasses.field plus the rule) and
check them all in one call, in field order:

    @dataclass
    class LayerSpec:
        width: int = setting(check=IntRange(1, 4096))  # neurons (no default)
        dropout: float = setting(0.0, FloatRange(0, 1, high_open=True))  # probability of zeroing a neuron
        names: list = setting(factory=list)  # a mutable default, not checked

        def validate(self) -> None:
            check_fields(self)

A plain function argument is checked directly; check() returns the value:

    max_length = IntRange(1).check(max_length, "max_length")

Pages may show their widget's label instead of the code name: `check_fields(config, {"input_dim":
"Input size"})` or `IntRange(1, 10).check(value, "input_dim", label="Input size")` gives
"Input size must be ...".
`field_rules(TrainConfig)` returns the rules by field name, e.g. to set a widget's bounds from them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import KW_ONLY, MISSING, dataclass, field
from typing import Any

import numpy as np

from protlab.errors import ConfigError

__all__ = ["Choice", "Flag", "FloatRange", "IntRange", "Rule", "check_fields", "field_rules", "setting"]

CHECK = "check"  # the dataclass field metadata key that holds a field's rule


def shown(value: object, limit: int = 120) -> str:
    """A value as a message shows it: repr of plain Python (NumPy scalars unwrapped), cut to `limit` chars."""
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _bound(x: float) -> str:
    """A range limit as written in a message: ints as they are, floats short (1e6, 0.001, 1.0)."""
    if isinstance(x, int) or x == 0 or 1e-4 <= abs(x) < 1e5:
        return repr(x)
    mantissa, exponent = f"{x:g}".split("e")
    return f"{mantissa}e{int(exponent)}"


@dataclass(frozen=True)
class Rule:
    """Allowed values of one setting; subclasses define ok() and describe()."""

    _: KW_ONLY
    note: str = ""  # shown in brackets after what is allowed, e.g. "0 turns clipping off"
    tip: str = ""  # a sentence after the value received, e.g. "The notes use 0.1."
    optional: bool = False  # None is allowed too (a setting that may be left out)

    def ok(self, value: object) -> bool:
        """True when value is allowed."""
        raise NotImplementedError

    def describe(self) -> str:
        """What is allowed, as words that follow 'must be', e.g. 'an integer from 1 to 4096'."""
        raise NotImplementedError

    def message(self, value: object, name: str, label: str | None = None) -> str:
        """The refusal sentence for value."""
        note = f" ({self.note})" if self.note else ""
        tip = f" {self.tip}" if self.tip else ""
        return f"{label or name} must be {self.describe()}{note}; got {shown(value)}.{tip}"

    def check(self, value: Any, name: str, label: str | None = None) -> Any:
        """Return value if allowed, else raise ConfigError naming `label` (or `name`), value and rule."""
        if not (self.optional and value is None) and not self.ok(value):
            raise ConfigError(self.message(value, name, label))
        return value


def _is_int(value: object) -> bool:
    """int or NumPy integer, but not bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


@dataclass(frozen=True)
class IntRange(Rule):
    """An integer from low to high (high None: no upper limit); odd=True allows odd integers only."""

    low: int  # smallest allowed value
    high: int | None = None  # largest allowed value, None for no limit
    _: KW_ONLY
    odd: bool = False  # allow odd values only (e.g. kernel widths that keep the sequence length)

    def ok(self, value: object) -> bool:
        """An integer inside the range (and odd when asked)."""
        inside = _is_int(value) and self.low <= value and (self.high is None or value <= self.high)
        return bool(inside and (not self.odd or value % 2 == 1))

    def describe(self) -> str:
        """'an integer from 1 to 4096', 'a positive integer', 'an odd integer from 1 to 31', ..."""
        kind = "odd integer" if self.odd else "integer"
        if self.high is not None:
            return f"an {kind} from {self.low} to {self.high}"
        if self.low == 1 and not self.odd:
            return "a positive integer"
        return f"an {kind} of at least {self.low}"


@dataclass(frozen=True)
class FloatRange(Rule):
    """A finite number between low and high; each end is included unless low_open / high_open."""

    low: float  # lower limit
    high: float | None = None  # upper limit, None for no limit
    _: KW_ONLY
    low_open: bool = False  # True: low itself is refused ('above low')
    high_open: bool = False  # True: high itself is refused ('below high')

    def ok(self, value: object) -> bool:
        """A finite int or float (not bool, NaN or infinity) inside the range."""
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return False
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return bool(above and below)

    def describe(self) -> str:
        """'a number from 0 to 1', 'a number above 0 and at most 1e6', 'a number from 0 to below 1', ..."""
        low = _bound(self.low)
        if self.high is None:
            return f"a number above {low}" if self.low_open else f"a number of at least {low}"
        high = _bound(self.high)
        if self.low_open:
            return f"a number above {low} and {'below' if self.high_open else 'at most'} {high}"
        return f"a number from {low} to {'below ' if self.high_open else ''}{high}"


def _same(value: object, option: object) -> bool:
    """value equals option, with True/False never standing in for 1/0 (or the reverse)."""
    if isinstance(value, (bool, np.bool_)) != isinstance(option, bool):
        return False
    try:
        return bool(value == option)
    except (TypeError, ValueError):  # arrays and other values without a single truth value
        return False


@dataclass(frozen=True)
class Choice(Rule):
    """One of a fixed list of values (strings, numbers or None)."""

    options: tuple  # the allowed values, in the order messages list them

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", tuple(self.options))

    def ok(self, value: object) -> bool:
        """value is one of the options."""
        return any(_same(value, option) for option in self.options)

    def describe(self) -> str:
        """'cpu' / 'cpu' or 'cuda' / one of 'auto', 'cpu' or 'cuda' (the options as repr)."""
        items = [shown(option) for option in self.options]
        if len(items) <= 2:
            return " or ".join(items)
        return f"one of {', '.join(items[:-1])} or {items[-1]}"


@dataclass(frozen=True)
class Flag(Rule):
    """True or False (not 0/1 or 'yes')."""

    def ok(self, value: object) -> bool:
        """value is a bool."""
        return isinstance(value, (bool, np.bool_))

    def describe(self) -> str:
        """'true or false'."""
        return "true or false"


def setting(default: Any = MISSING, check: Rule | None = None, *, factory: Any = MISSING) -> Any:
    """A dataclass field checked by a rule: `batch_size: int = setting(32, IntRange(1, 4096))`."""
    metadata = {CHECK: check} if check is not None else {}
    if factory is not MISSING:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def field_rules(config: Any) -> dict[str, Rule]:
    """The rules of a dataclass (class or instance), by field name, in field order."""
    return {f.name: f.metadata[CHECK] for f in dataclasses.fields(config) if CHECK in f.metadata}


def check_fields(config: Any, labels: Mapping[str, str] | None = None) -> None:
    """Check every field of a dataclass instance that has a rule, in field order; the first bad one raises.

    labels maps field names to the names a page shows (e.g. {"input_dim": "Input size"}).
    """
    labels = labels or {}
    for name, check in field_rules(config).items():
        check.check(getattr(config, name), name, labels.get(name))

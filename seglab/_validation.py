"""Checks at the door of public functions, with messages that say how to fix things."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from seglab.exceptions import InputError, ParameterError, SchemaError


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``name`` (case-insensitive), or None when nothing is close.

    >>> closest("order_dat", ["order_id", "order_date"])
    'order_date'
    """
    candidates = [str(c) for c in candidates]
    lowered = {c.lower(): c for c in candidates}
    if name.lower() in lowered:
        return lowered[name.lower()]
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or an empty string."""
    guess = closest(name, candidates)
    return f" (did you mean {guess!r}?)" if guess and guess != name else ""


def _show(names: Sequence[Any], limit: int = 12) -> str:
    names = [str(n) for n in names]
    shown = ", ".join(repr(n) for n in names[:limit])
    return f"[{shown}{', …' if len(names) > limit else ''}]"


def require_frame(obj: Any, name: str) -> pd.DataFrame:
    """``obj`` itself when it is a DataFrame; a clear error otherwise."""
    if not isinstance(obj, pd.DataFrame):
        raise InputError(f"{name} must be a pandas DataFrame; got {type(obj).__name__}")
    return obj


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, table: str,
                    hint: str = "map it in the dataset spec") -> None:
    """Raise :class:`SchemaError` naming every missing column, with a guess for each."""
    missing = [c for c in columns if c not in frame.columns]
    if not missing:
        return
    parts = [f"{c!r}{did_you_mean(c, frame.columns)}" for c in missing]
    noun = "column" if len(missing) == 1 else "columns"
    raise SchemaError(
        f"{table} is missing {noun} {', '.join(parts)}; found {_show(list(frame.columns))}; {hint}"
    )


def check_choice(value: Any, choices: Iterable[str], *, name: str) -> str:
    """``value`` when it is one of ``choices``; a :class:`ParameterError` otherwise."""
    choices = list(choices)
    if value not in choices:
        raise ParameterError(
            f"{name} must be one of {_show(choices)}; got {value!r}{did_you_mean(str(value), choices)}"
        )
    return value


def check_range(value: float, *, name: str, low: float | None = None, high: float | None = None,
                integer: bool = False) -> float:
    """``value`` when it lies in ``[low, high]`` (and is an integer when asked)."""
    if integer and (isinstance(value, bool) or int(value) != value):
        raise ParameterError(f"{name} must be a whole number; got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if low is not None and high is not None else (
            f"at least {low}" if low is not None else f"at most {high}")
        raise ParameterError(f"{name} must be {bounds}; got {value!r}")
    return value


def show_list(names: Sequence[Any], limit: int = 12) -> str:
    """A short printable list: ``['a', 'b', …]``."""
    return _show(names, limit)

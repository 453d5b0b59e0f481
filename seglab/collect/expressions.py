"""Derived columns from a small, safe expression language.

Dataset specs compute columns such as ``amount = Quantity * Price``. The text is
parsed with :mod:`ast` and only a whitelist of node types is evaluated: column
names, numbers and strings, arithmetic, comparisons, ``and``/``or``/``not``,
``a if cond else b`` and a few functions. Nothing is ever passed to ``eval``.

Column names that are not Python identifiers go in backticks:
```Annual Income (k$)` * 1000``.

Specs are shared, so an expression is bounded as well as whitelisted: number literals
are at most 10**15 in size, a power of numbers may not exceed 10**18 (``9 ** 9 ** 9``
is refused at once instead of running for hours), powers of columns are computed in
floating point (an overflow gives infinity, which the quality gate's ``non_finite``
check catches, never a silently wrapped integer), and repeated text
(``'a' * 10**11``) may not be longer than 1,000 characters.

>>> import pandas as pd
>>> df = pd.DataFrame({"Quantity": [2, -1], "Price": [1.5, 4.0]})
>>> evaluate("Quantity * Price", df).tolist()
[3.0, -4.0]
>>> evaluate("where(Quantity < 0, 'return', 'sale')", df).tolist()
['sale', 'return']
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from seglab._validation import did_you_mean, show_list
from seglab.exceptions import DataTypeError, SchemaError, SeglabError, SpecError

__all__ = ["Expression", "parse_expression", "evaluate", "FUNCTIONS", "IBIS_FUNCTIONS", "to_ibis"]

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}


def _series(x: Any, index: pd.Index) -> pd.Series:
    return x if isinstance(x, pd.Series) else pd.Series(x, index=index)


def _where(cond, a, b):
    index = cond.index
    return _series(a, index).where(cond.astype(bool), _series(b, index))


def _to_datetime(x, fmt=None):
    return pd.to_datetime(x, format=fmt, errors="raise")


FUNCTIONS: dict[str, Any] = {
    "abs": lambda x: abs(x),
    "log": lambda x: np.log(x),
    "log1p": lambda x: np.log1p(x),
    "exp": lambda x: np.exp(x),
    "sqrt": lambda x: np.sqrt(x),
    "round": lambda x, digits=0: x.round(int(digits)) if isinstance(x, pd.Series) else round(x, int(digits)),
    "clip": lambda x, low=None, high=None: x.clip(low, high),
    "where": _where,
    "fillna": lambda x, value: x.fillna(value),
    "lower": lambda x: x.str.lower(),
    "upper": lambda x: x.str.upper(),
    "strip": lambda x: x.str.strip(),
    "concat": lambda *xs: _concat(xs),
    "startswith": lambda x, prefix: x.str.startswith(prefix).fillna(False),
    "to_number": lambda x: pd.to_numeric(x, errors="raise"),
    "to_date": _to_datetime,
    "year": lambda x: x.dt.year,
    "month": lambda x: x.dt.month,
    "isnull": lambda x: x.isna(),
}
"""The functions an expression may call, by name."""


def _concat(parts):
    out = None
    for p in parts:
        p = p.astype("string") if isinstance(p, pd.Series) else str(p)
        out = p if out is None else out + p
    return out


_BACKTICK = re.compile(r"`([^`]+)`")

MAX_LITERAL = 10**15
"""Largest number literal an expression may contain."""
MAX_POWER = 1e18
"""Largest result of a power of two numbers (``10 ** 18``)."""
MAX_TEXT = 1_000
"""Longest text a repetition (``'ab' * 3``) may make."""


def _is_number(x) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)


def _is_text(x) -> bool:
    if isinstance(x, str):
        return True
    return isinstance(x, pd.Series) and (pd.api.types.is_string_dtype(x) or x.dtype == object)


def _repeat_count(x) -> float:
    """The largest repetition count a number or a numeric column asks for."""
    if _is_number(x):
        return float(x)
    if isinstance(x, pd.Series) and pd.api.types.is_numeric_dtype(x) and len(x):
        return float(np.nanmax(np.abs(x.to_numpy(dtype="float64", na_value=np.nan))) if x.notna().any() else 0)
    return 0.0


def _text_length(x) -> int:
    if isinstance(x, str):
        return len(x)
    lengths = x.astype("string").str.len()
    return int(lengths.max()) if lengths.notna().any() else 0


@dataclass(frozen=True)
class Expression:
    """A parsed expression: its text, its syntax tree and the column names it reads."""

    text: str
    tree: ast.Expression
    aliases: dict[str, str]

    @property
    def columns(self) -> list[str]:
        """The column names the expression reads, in order of first use."""
        functions = {id(n.func) for n in ast.walk(self.tree) if isinstance(n, ast.Call)}
        seen: list[str] = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name) and id(node) not in functions:
                name = self.aliases.get(node.id, node.id)
                if name not in seen:
                    seen.append(name)
        return seen

    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """Evaluate on ``frame``; the result is aligned with its index."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            name = missing[0]
            raise SchemaError(
                f"expression {self.text!r} uses column {name!r}{did_you_mean(name, frame.columns)}, "
                f"which the source does not have; found {show_list(list(frame.columns))}"
            )
        return _series(self._compute(self.tree.body, frame), frame.index)

    def _compute(self, node: ast.AST, frame: pd.DataFrame):
        try:
            with np.errstate(all="ignore"):
                return _Evaluator(frame, self).visit(node)
        except SeglabError:
            raise
        except OverflowError as err:
            raise SpecError(f"expression {self.text!r} cannot be computed: a number is too large "
                            f"({err}); simplify the expression") from None
        except ZeroDivisionError:
            raise SpecError(f"expression {self.text!r} divides a number by zero") from None
        except (TypeError, ValueError) as err:
            raise DataTypeError(
                f"expression {self.text!r} cannot be computed: {err}. Check that the columns it "
                "uses hold numbers (or convert them with to_number(...)/to_date(...))"
            ) from None


class _Evaluator(ast.NodeVisitor):
    def __init__(self, frame: pd.DataFrame, expr: Expression):
        self.frame, self.expr = frame, expr

    def generic_visit(self, node):  # anything not whitelisted below
        raise SpecError(f"expression {self.expr.text!r}: {type(node).__name__} is not allowed")

    def visit_Name(self, node):
        return self.frame[self.expr.aliases.get(node.id, node.id)]

    def visit_Constant(self, node):
        if isinstance(node.value, int | float | str | bool) or node.value is None:
            return node.value
        return self.generic_visit(node)

    def visit_BinOp(self, node):
        op = _BINARY.get(type(node.op))
        if op is None:
            return self.generic_visit(node.op)
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Pow):
            left, right = self._bounded_power(left, right)
        elif isinstance(node.op, ast.Mult):
            self._bounded_repetition(left, right)
        return op(left, right)

    def _too_large(self, what: str):
        return SpecError(f"expression {self.expr.text!r}: {what}; expressions are bounded so that a "
                         "shared spec cannot hang or exhaust memory")

    def _bounded_power(self, base, exponent):
        """Refuse a power of numbers beyond ``MAX_POWER``; powers of columns in floating point."""
        if _is_number(base) and _is_number(exponent):
            b, e = abs(float(base)), float(exponent)
            if b > 1 and e * math.log10(b) > math.log10(MAX_POWER):
                raise self._too_large(f"{base} ** {exponent} is larger than 10**18")
            if b < 1 and b != 0 and e < 0 and -e * -math.log10(b) > math.log10(MAX_POWER):
                raise self._too_large(f"{base} ** {exponent} is larger than 10**18")
            if base < 0 and not e.is_integer():
                raise SpecError(f"expression {self.expr.text!r}: {base} ** {exponent} is not a real "
                                "number (a negative number to a fractional power)")
            return base, exponent
        # integer columns would wrap around silently (int64 overflow): compute in floats
        if isinstance(base, pd.Series) and pd.api.types.is_integer_dtype(base):
            base = base.astype("float64")
        if _is_number(base) and isinstance(exponent, pd.Series):
            base = float(base)
        return base, exponent

    def _bounded_repetition(self, left, right):
        """Refuse text repeated into more than ``MAX_TEXT`` characters."""
        for text, count in ((left, right), (right, left)):
            if _is_text(text) and not _is_text(count):
                n = _repeat_count(count)
                if n > 0 and _text_length(text) * n > MAX_TEXT:
                    raise self._too_large(f"text repeated {n:,.0f} times is longer than "
                                          f"{MAX_TEXT:,} characters")

    def visit_UnaryOp(self, node):
        value = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return value
        if isinstance(node.op, ast.Not):
            return ~value.astype(bool) if isinstance(value, pd.Series) else not value
        return self.generic_visit(node.op)

    def visit_BoolOp(self, node):
        values = [self.visit(v) for v in node.values]
        combine = operator.and_ if isinstance(node.op, ast.And) else operator.or_
        out = values[0]
        for v in values[1:]:
            out = combine(out, v)
        return out

    def visit_Compare(self, node):
        left, result = self.visit(node.left), None
        for op_node, comp in zip(node.ops, node.comparators):
            op = _COMPARE.get(type(op_node))
            if op is None:
                return self.generic_visit(op_node)
            right = self.visit(comp)
            part = op(left, right)
            result = part if result is None else result & part
            left = right
        return result

    def visit_IfExp(self, node):
        return _where(_series(self.visit(node.test), self.frame.index),
                      self.visit(node.body), self.visit(node.orelse))

    def visit_Call(self, node):
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise SpecError(f"expression {self.expr.text!r}: only plain calls like log(x) are allowed")
        func = FUNCTIONS.get(node.func.id)
        if func is None:
            raise SpecError(
                f"expression {self.expr.text!r} calls unknown function {node.func.id!r}"
                f"{did_you_mean(node.func.id, FUNCTIONS)}; available: {show_list(sorted(FUNCTIONS), 30)}"
            )
        return func(*[self.visit(a) for a in node.args])


def parse_expression(text: str) -> Expression:
    """Parse and check an expression without evaluating it.

    Raises
    ------
    SpecError
        On a syntax error or a construct outside the whitelist (attribute access,
        subscripts, lambdas, comprehensions, calls of unknown functions …).
    """
    if not isinstance(text, str) or not text.strip():
        raise SpecError(f"a derived-column expression must be non-empty text; got {text!r}")
    aliases: dict[str, str] = {}

    def _alias(match: re.Match) -> str:
        key = f"__col{len(aliases)}__"
        aliases[key] = match[1]
        return key

    source = _BACKTICK.sub(_alias, text.strip())
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        raise SpecError(f"expression {text!r} is not valid: {err.msg} (column {err.offset})") from None
    allowed = (ast.Expression, ast.Name, ast.Load, ast.Constant, ast.BinOp, ast.UnaryOp,
               ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.And, ast.Or, ast.Not,
               ast.USub, ast.UAdd, *_BINARY, *_COMPARE)
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise SpecError(f"expression {text!r}: {type(node).__name__} is not allowed")
        if isinstance(node, ast.Constant) and _is_number(node.value) and not (
                math.isfinite(node.value) and abs(node.value) <= MAX_LITERAL):
            raise SpecError(f"expression {text!r}: the number {node.value!r} is too large "
                            f"(literals are at most 10**15)")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
                name = getattr(node.func, "id", ast.unparse(node.func))
                raise SpecError(
                    f"expression {text!r} calls {name!r}, which is not an allowed function"
                    f"{did_you_mean(str(name), FUNCTIONS)}; available: {show_list(sorted(FUNCTIONS), 30)}"
                )
    expression = Expression(text=text, tree=tree, aliases=aliases)
    for node in ast.walk(tree):
        # parts made of literals only (9 ** 9 ** 9, 'a' * 10**11) are checked now, when the
        # spec is loaded, against the same bounds as at evaluation
        if isinstance(node, ast.BinOp) and not any(isinstance(n, ast.Name | ast.Call)
                                                   for n in ast.walk(node)):
            expression._compute(node, pd.DataFrame())
    return expression


def evaluate(text: str, frame: pd.DataFrame) -> pd.Series:
    """Parse ``text`` and evaluate it on ``frame``."""
    return parse_expression(text).evaluate(frame)


# --------------------------------------------------------------------------- in the engine

def _value(x):
    import ibis

    return x if isinstance(x, ibis.Value) else ibis.literal(x)


def _numeric(x) -> bool:
    import ibis

    return (isinstance(x, ibis.Value) and x.type().is_numeric()) or _is_number(x)


def _as_float(x):
    """Integers as floats, as pandas computes ``/``, ``//``, ``%`` and ``**`` (and never an
    engine's integer overflow or division-by-zero error)."""
    import ibis

    if isinstance(x, ibis.Value) and (x.type().is_integer() or x.type().is_boolean()):
        return x.cast("float64")
    return float(x) if _is_number(x) else x


def _ibis_concat(*parts):
    out = None
    for p in parts:
        text = _value(p).cast("string") if not isinstance(p, str) else _value(p)
        out = text if out is None else out + text
    return out


def _ibis_date(x, fmt=None):
    from seglab.collect.engine_read import parse_dates

    return parse_dates(_value(x), fmt)


IBIS_FUNCTIONS: dict[str, Any] = {
    "abs": lambda x: _value(x).abs(),
    "log": lambda x: _as_float(_value(x)).ln(),
    "log1p": lambda x: (_as_float(_value(x)) + 1).ln(),
    "exp": lambda x: _as_float(_value(x)).exp(),
    "sqrt": lambda x: _as_float(_value(x)).sqrt(),
    "round": lambda x, digits=0: _value(x).round(int(digits)),
    "clip": lambda x, low=None, high=None: _value(x).clip(low, high),
    "where": lambda cond, a, b: _ibis_where(cond, a, b),
    "fillna": lambda x, value: _value(x).fill_null(value),
    "lower": lambda x: _value(x).lower(),
    "upper": lambda x: _value(x).upper(),
    "strip": lambda x: _value(x).strip(),
    "concat": _ibis_concat,
    "startswith": lambda x, prefix: _value(x).startswith(prefix).fill_null(False),
    "to_number": lambda x: _value(x).cast("float64"),
    "to_date": _ibis_date,
    "year": lambda x: _value(x).year(),
    "month": lambda x: _value(x).month(),
    "isnull": lambda x: _value(x).isnull(),
}
"""How each of :data:`FUNCTIONS` is computed by an engine (Ibis expressions)."""


def _ibis_where(cond, a, b):
    import ibis

    return ibis.ifelse(_value(cond).fill_null(False), _value(a), _value(b))


def to_ibis(expression: Expression, columns: dict) -> Any:
    """The expression as an Ibis value over ``columns`` (name → Ibis column), for engines.

    The same language and bounds as :meth:`Expression.evaluate`; integer columns are
    computed as floats in divisions, remainders and powers, as pandas does, so a division
    by zero gives an infinity (which the quality gate's ``non_finite`` check counts).
    """
    missing = [c for c in expression.columns if c not in columns]
    if missing:
        name = missing[0]
        raise SchemaError(f"expression {expression.text!r} uses column {name!r}"
                          f"{did_you_mean(name, list(columns))}, which the source does not have; "
                          f"found {show_list(list(columns))}")
    try:
        return _value(_IbisTranslator(columns, expression).visit(expression.tree.body))
    except SeglabError:
        raise
    except Exception as err:  # Ibis refuses mistyped operations while building the expression
        raise DataTypeError(
            f"expression {expression.text!r} cannot be computed: {err}. Check that the columns it "
            "uses hold numbers (or convert them with to_number(...)/to_date(...))") from None


class _IbisTranslator(_Evaluator):
    def __init__(self, columns: dict, expr: Expression):
        self.columns, self.expr = columns, expr

    def visit_Name(self, node):
        return self.columns[self.expr.aliases.get(node.id, node.id)]

    def visit_BinOp(self, node):
        import ibis

        op = _BINARY.get(type(node.op))
        if op is None:
            return self.generic_visit(node.op)
        left, right = self.visit(node.left), self.visit(node.right)
        if not any(isinstance(x, ibis.Value) for x in (left, right)):
            return super().visit_BinOp(node)  # literals only: computed here, bounded as in pandas
        if isinstance(node.op, ast.Mult) and (_is_text(left) or _is_text(right) or any(
                isinstance(x, ibis.Value) and x.type().is_string() for x in (left, right))):
            raise SpecError(f"expression {self.expr.text!r}: repeating text is not supported by the "
                            "engine; build the text with concat(...)")
        if isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod | ast.Pow) and \
                _numeric(left) and _numeric(right):
            left, right = _as_float(left), _as_float(right)
        if isinstance(node.op, ast.FloorDiv):
            return (_value(left) / right).floor().cast("float64")
        if isinstance(node.op, ast.Mod):  # Python's sign convention: the divisor's sign
            return _value(left) - (_value(left) / right).floor() * right
        return op(_value(left), right) if isinstance(left, ibis.Value) else op(left, _value(right))

    def visit_UnaryOp(self, node):
        value = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return ~_value(value).fill_null(False)
        return super().visit_UnaryOp(node)

    def visit_IfExp(self, node):
        return _ibis_where(self.visit(node.test), self.visit(node.body), self.visit(node.orelse))

    def visit_Call(self, node):
        if not isinstance(node.func, ast.Name) or node.keywords or node.func.id not in IBIS_FUNCTIONS:
            return super().visit_Call(node)
        return IBIS_FUNCTIONS[node.func.id](*[self.visit(a) for a in node.args])

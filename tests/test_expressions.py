import pandas as pd
import pytest

from seglab.collect.expressions import evaluate, parse_expression
from seglab.exceptions import DataTypeError, SchemaError, SpecError


@pytest.fixture
def frame():
    return pd.DataFrame({"Quantity": [2, -1, 3], "Price": [1.5, 4.0, 2.0],
                         "Annual Income (k$)": [15, 20, 30], "code": ["C1", "A2", "C3"]})


def test_arithmetic_on_columns(frame):
    assert evaluate("Quantity * Price", frame).tolist() == [3.0, -4.0, 6.0]
    assert evaluate("-Quantity + 2 ** 2", frame).tolist() == [2, 5, 1]


def test_backticks_name_columns_that_are_not_identifiers(frame):
    assert evaluate("`Annual Income (k$)` * 1000", frame).tolist() == [15000, 20000, 30000]
    assert parse_expression("`Annual Income (k$)` / Price").columns == ["Annual Income (k$)", "Price"]


def test_conditionals_comparisons_and_functions(frame):
    assert evaluate("where(Quantity < 0, 'return', 'sale')", frame).tolist() == ["sale", "return", "sale"]
    assert evaluate("'big' if Quantity * Price > 4 else 'small'", frame).tolist() == ["small", "small", "big"]
    assert evaluate("startswith(code, 'C') and Quantity > 0", frame).tolist() == [True, False, True]
    assert evaluate("abs(Quantity)", frame).tolist() == [2, 1, 3]
    assert evaluate("0 < Quantity <= 2", frame).tolist() == [True, False, False]


def test_function_names_are_not_columns():
    assert parse_expression("round(log1p(amount), 2)").columns == ["amount"]


@pytest.mark.parametrize("text", [
    "__import__('os').system('echo hi')",
    "Quantity.__class__",
    "Price[0]",
    "(lambda: 1)()",
    "[x for x in Price]",
    "open('/etc/passwd')",
])
def test_anything_outside_the_whitelist_is_refused_before_evaluation(text):
    with pytest.raises(SpecError):
        parse_expression(text)


def test_unknown_column_suggests_the_closest(frame):
    with pytest.raises(SchemaError, match="'Quantiy'.*did you mean 'Quantity'"):
        evaluate("Quantiy * Price", frame)


def test_syntax_errors_are_spec_errors():
    with pytest.raises(SpecError, match="not valid"):
        parse_expression("Quantity *")


def test_text_columns_in_arithmetic_give_a_type_error_with_a_fix(frame):
    with pytest.raises(DataTypeError, match="to_number"):
        evaluate("code * Price", frame.assign(code=["x", "y", "z"]))


def test_evaluate_does_not_modify_the_frame(frame):
    before = frame.copy()
    evaluate("Quantity * Price", frame)
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("text, message", [
    ("9 ** 9 ** 9", "larger than 10"),
    ("'a' * 10**11", "longer than 1,000 characters"),
    ("10 ** 11 * 'a'", "longer than 1,000 characters"),
    ("0.5 ** -100", "larger than 10"),
    ("1e999 * Price", "too large"),
    ("123456789012345678901234567890 + Price", "too large"),
    ("1 / 0 + Price", "divides a number by zero"),
    ("(-8) ** 0.5 * Price", "not a real number"),
])
def test_literal_bombs_are_refused_when_the_spec_is_read(text, message):
    import time

    started = time.perf_counter()
    with pytest.raises(SpecError, match=message):
        parse_expression(text)
    assert time.perf_counter() - started < 1


def test_text_repeated_by_a_column_is_bounded(frame):
    with pytest.raises(SpecError, match="longer than 1,000 characters"):
        evaluate("code * (Quantity * 10 ** 6)", frame)
    assert evaluate("code * 2", frame).tolist() == ["C1C1", "A2A2", "C3C3"]


def test_powers_of_integer_columns_never_wrap_around(frame):
    out = evaluate("Quantity ** 70", frame)
    assert out.iloc[0] == pytest.approx(2.0 ** 70) and out.iloc[2] == pytest.approx(3.0 ** 70)
    assert (out > 0).all()  # int64 arithmetic would have wrapped to nonsense

import pytest

from seglab.collect.spec import builtin_specs, load_spec, spec_from_dict
from seglab.exceptions import SpecError, UnknownDatasetError
from tests.conftest import write_spec

MINIMAL = {"name": "shop", "transactions": {"sources": [{"path": "orders.csv"}]}}


def test_builtin_datasets_are_all_valid():
    assert set(builtin_specs()) == {"sample", "online_retail", "mall_customers", "customer_personality"}
    for name in builtin_specs():
        spec = load_spec(name)
        assert spec.name == name and spec.licence and spec.title


def test_unknown_dataset_suggests_a_builtin():
    with pytest.raises(UnknownDatasetError, match="did you mean 'online_retail'"):
        load_spec("online_retial")


def test_missing_spec_file_is_named(tmp_path):
    with pytest.raises(UnknownDatasetError, match="no file at"):
        load_spec(tmp_path / "nope.yaml")


def test_shared_columns_are_merged_into_each_source():
    spec = spec_from_dict({"name": "x", "transactions": {
        "columns": {"amount": "Total"},
        "sources": [{"path": "a.csv", "columns": {"customer_id": "Cust"}}, {"path": "b.parquet"}]}})
    first, second = spec.transactions.sources
    assert first.columns == {"amount": "Total", "customer_id": "Cust"}
    assert second.columns == {"amount": "Total"}
    assert (first.kind, second.kind) == ("csv", "parquet")


@pytest.mark.parametrize("raw, message", [
    ({"name": "x"}, "neither 'transactions' nor 'customers'"),
    ({"name": "bad name!", "customers": {"sources": [{"path": "a.csv"}]}}, "'name'"),
    ({**MINIMAL, "transactons": {}}, "unknown key 'transactons'.*did you mean 'transactions'"),
    ({"name": "x", "transactions": {"sources": []}}, "non-empty list"),
    ({"name": "x", "transactions": {"sources": [{"path": "a.csv", "url": "sqlite://"}]}}, "exactly one"),
    ({"name": "x", "transactions": {"sources": [{"path": "a.weird"}]}}, "cannot tell the format"),
    ({"name": "x", "transactions": {"sources": [{"url": "sqlite://"}]}}, "'table' or give a 'query'"),
    ({"name": "x", "transactions": {"sources": [{"path": "a.csv", "format": "xls"}]}}, "did you mean 'excel'"),
    ({**MINIMAL, "quality": {"policies": {"cancelations": "drop"}}}, "did you mean 'cancellations'"),
    ({**MINIMAL, "quality": {"policies": {"cancellations": "remove"}}}, "drop"),
    ({**MINIMAL, "quality": {"product_pattern": "[unclosed"}}, "regular expression"),
    ({"name": "x", "transactions": {"derive": {"amount": "q.__class__"},
                                    "sources": [{"path": "a.csv"}]}}, "not allowed"),
    ({"name": "x", "customers": {"criteria": {"demografic": ["age"]}, "sources": [{"path": "a.csv"}]}},
     "did you mean 'demographic'"),
])
def test_malformed_specs_are_refused_with_a_precise_message(raw, message):
    with pytest.raises(SpecError, match=message):
        spec_from_dict(raw)


def test_criteria_become_a_tag_per_column():
    spec = spec_from_dict({"name": "x", "customers": {
        "sources": [{"path": "c.csv"}],
        "criteria": {"demographic": ["age", "gender"], "pii": "name"}}})
    assert spec.customers.criteria == {"age": "demographic", "gender": "demographic", "name": "pii"}


def test_paths_are_relative_to_the_spec_file(tmp_path):
    path = write_spec(tmp_path, "name: shop\ntransactions:\n  sources:\n    - path: data/orders.csv\n")
    spec = load_spec(path)
    assert spec.resolve_path("data/orders.csv") == tmp_path / "data" / "orders.csv"


def test_environment_variables_are_expanded_and_missing_ones_named(monkeypatch):
    spec = spec_from_dict({"name": "x", "transactions": {
        "sources": [{"url": "${SHOP_DB}", "table": "orders"}]}})
    monkeypatch.setenv("SHOP_DB", "sqlite:///shop.db")
    assert spec.resolve(spec.transactions.sources[0].url) == "sqlite:///shop.db"
    monkeypatch.delenv("SHOP_DB")
    with pytest.raises(SpecError, match=r"\$\{SHOP_DB\}.*not set"):
        spec.resolve(spec.transactions.sources[0].url)


def test_credentials_are_masked_in_descriptions():
    spec = spec_from_dict({"name": "x", "transactions": {
        "sources": [{"url": "postgresql://ana:secret@db/shop", "table": "orders"}]}})
    assert "secret" not in spec.transactions.sources[0].describe()


def test_invalid_yaml_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(write_spec(tmp_path, "name: [unclosed\n"))


def test_a_key_given_twice_is_refused_not_silently_overwritten(tmp_path):
    text = ("name: twice\ncustomers:\n  sources: [{path: c.csv}]\n  criteria:\n"
            "    behaviour: [orders]\n    journey: [signup]\n    behaviour: [visits]\n")
    with pytest.raises(SpecError, match=r"the key 'behaviour' is given twice \(first on line 5\)"):
        load_spec(write_spec(tmp_path, text))

"""The same feature functions, unchanged, on a local Spark session give DuckDB's results."""

import numpy as np
import pandas as pd
import pytest

from seglab.collect import collect
from seglab.features import build_features
from seglab.run import RunFolder

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.xdist_group("spark")]


def test_spark_and_duckdb_compute_the_same_features(spark, tmp_path):
    import ibis

    run = RunFolder(tmp_path)
    run.write_canonical(collect("sample", "2025Q4"))
    on_duckdb = build_features(run.canonical_files(), value_models=False).features
    on_spark = build_features(run.canonical_files(), value_models=False, con=ibis.pyspark.connect(spark)).features
    assert list(on_spark.columns) == list(on_duckdb.columns)
    assert on_spark["customer_id"].tolist() == on_duckdb["customer_id"].tolist()
    for col in on_duckdb.columns[1:]:
        left, right = on_duckdb[col], on_spark[col]
        if pd.api.types.is_numeric_dtype(left):
            np.testing.assert_allclose(right.to_numpy(dtype=float), left.to_numpy(dtype=float),
                                       rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=col)
        else:
            assert right.astype(str).tolist() == left.astype(str).tolist(), col
    # money is summed exactly (whole numbers of 1/SCALE): the RFM columns agree to the last bit
    exact = ["frequency", "recency", "T", "monetary_value", "net_monetary_value", "recency_days",
             "orders", "net_revenue", "avg_order_value"]
    pd.testing.assert_frame_equal(on_spark[exact], on_duckdb[exact], check_exact=True)

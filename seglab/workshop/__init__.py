"""The segmentation workshop kit: planted-truth data, checks with friendly feedback, and the
exercise notebooks in ``notebooks/workshop/`` (see its README, the instructor guide).

>>> from seglab.workshop import check_k
>>> import pandas as pd
>>> print(check_k(4, pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "segment": [0, 1, 2, 3]})))
✓ k = 4: the data has 4 planted segments
  - every segment comes back in bootstrap resamples and from half of the customers (prediction strength); one more segment cuts a real group in two, and those pieces do not come back
"""

from seglab.workshop.checks import (
    Feedback,
    check_actions,
    check_k,
    check_migration,
    check_revenue_share,
    check_rfm,
    check_segments,
    check_stayed_share,
)
from seglab.workshop.data import WORKSHOP_SEED, WorkshopData, workshop_data
from seglab.workshop.notebooks import build_workshop, exercise_from_solution, without_local_paths

__all__ = [
    "workshop_data",
    "WorkshopData",
    "WORKSHOP_SEED",
    "Feedback",
    "check_rfm",
    "check_k",
    "check_segments",
    "check_revenue_share",
    "check_actions",
    "check_migration",
    "check_stayed_share",
    "exercise_from_solution",
    "without_local_paths",
    "build_workshop",
]

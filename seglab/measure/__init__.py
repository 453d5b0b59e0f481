"""Closing the loop: did last period's actions work, and what do customers say, per segment.

Segments are hypotheses to be tested. seglab's audience files carry a random control
group (:func:`seglab.personas.export_audiences`); next period's campaigns table says who
was sent what, who was held out and who converted, and this module measures it:

>>> import seglab
>>> run = seglab.run.open_run("", "sample")                             # doctest: +SKIP
>>> measured = seglab.measure.measure_run(run, run.previous())           # doctest: +SKIP
>>> measured.table()                                                             # doctest: +SKIP

- :func:`measure_campaigns`: lift per campaign and segment with 95 % intervals, revenue,
  incremental revenue, the minimum detectable effect and a verdict (worked, backfired, no
  effect detected, underpowered, not measured); :func:`review_actions` flags actions that
  showed no effect twice or backfired;
- :func:`feedback_by_segment`: NPS and CSAT with intervals, their change since last
  period, ratings, survey answers and top topics;
- :func:`response_rates`: campaigns without a control group, as response rates;
- :func:`measure_run`: all of it for a run folder (the report stage's "Did it work?");
- :class:`Outcomes` and :func:`segment_scores`: response rate and NPS of any segmentation
  (the explorer's persona cards; :meth:`seglab.run.RunFolder.outcomes` reads a run's);
- :func:`derive_outcomes` (from :mod:`seglab.collect.outcomes`): conversions and revenue
  from the transactions after each campaign, when the campaigns table has none;
- :mod:`seglab.measure.intervals`: the interval methods, vectorized.

The run folder keeps the measurement (:meth:`seglab.run.RunFolder.write_measurement`,
:meth:`seglab.run.RunFolder.measurement`); this package names no file.
"""

from seglab.measure.campaigns import (MEANINGFUL_LIFT, NOT_SEGMENTED, VERDICTS, CampaignResults, measure_campaigns,
                                      review_actions)
from seglab.measure.feedback import ALL_CUSTOMERS, FeedbackResults, feedback_by_segment
from seglab.collect.outcomes import derive_outcomes
from seglab.measure.responses import ANY_RESPONSE, response_rates
from seglab.measure.scores import Outcomes, attach_scores, score_lines, segment_scores
from seglab.measure.stage import Measurement, measure_run

__all__ = [
    "measure_run",
    "Measurement",
    "measure_campaigns",
    "CampaignResults",
    "review_actions",
    "feedback_by_segment",
    "FeedbackResults",
    "response_rates",
    "derive_outcomes",
    "Outcomes",
    "segment_scores",
    "score_lines",
    "attach_scores",
    "VERDICTS",
    "MEANINGFUL_LIFT",
    "NOT_SEGMENTED",
    "ALL_CUSTOMERS",
    "ANY_RESPONSE",
]

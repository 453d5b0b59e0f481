"""Value models: how many purchases to expect, whether a customer is alive, what they will spend.

- :class:`ModifiedBetaGeo` (MBG/NBD), :class:`ParetoNBD` and :class:`BetaGeo` (BG/NBD):
  purchases and dropout
- :class:`GammaGamma`: spend per purchase
- :func:`customer_lifetime_value`: the two combined over a horizon, discounted
- :func:`validate_value_model`: calibration/holdout check of the purchase models, which
  also picks the one a run uses

All are fitted by maximum likelihood on the BTYD summary of
:func:`seglab.features.btyd_summary`.
"""

from seglab.features.value.betageo import BetaGeo
from seglab.features.value.clv import customer_lifetime_value
from seglab.features.value.gammagamma import GammaGamma
from seglab.features.value.modbetageo import ModifiedBetaGeo
from seglab.features.value.paretonbd import ParetoNBD

__all__ = ["BetaGeo", "ModifiedBetaGeo", "GammaGamma", "ParetoNBD", "customer_lifetime_value"]

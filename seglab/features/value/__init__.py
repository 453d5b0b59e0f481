"""Value models: how many purchases to expect, whether a customer is alive, what they will spend.

- :class:`BetaGeo` (BG/NBD) and :class:`ParetoNBD`: purchases and dropout
- :class:`GammaGamma`: spend per purchase
- :func:`customer_lifetime_value`: the two combined over a horizon, discounted

All are fitted by maximum likelihood on the BTYD summary of
:func:`seglab.features.btyd_summary`.
"""

from seglab.features.value.betageo import BetaGeo
from seglab.features.value.clv import customer_lifetime_value
from seglab.features.value.gammagamma import GammaGamma
from seglab.features.value.paretonbd import ParetoNBD

__all__ = ["BetaGeo", "GammaGamma", "ParetoNBD", "customer_lifetime_value"]

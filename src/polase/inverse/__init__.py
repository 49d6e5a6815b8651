"""polase.inverse: fit the digital twin to measurements and tell the Delta_ASE mechanisms apart.

Typical use::

    from polase.inverse import TwinModel, reduce_measurement, compare_mechanisms, recommend_measurement
    obs = reduce_measurement(ds)                      # band intensities, noise from the repeats
    model = TwinModel(config, windows=obs.windows)
    cmp = compare_mechanisms(model, obs)              # fits, BIC ranking, verdict
    rec = recommend_measurement(model, obs, cmp)      # next fluence, plate angle, repeats

See docs/inverse.md.
"""

from .compare import (
    BIC_DECISIVE,
    Comparison,
    Prediction,
    compare_mechanisms,
    measured_delta,
    predict_signatures,
)
from .design import recommend_measurement, separation_map
from .fit import FitResult, LeastSquaresResult, fit, least_squares_fit, profile_likelihood
from .models import DEFAULT_CANDIDATES, MECHANISMS, ForwardModel, ToyModel, TwinModel
from .observables import Observations, observations_from_samples, reduce_measurement
from .parameters import Parameter, Parameters
from .report import to_json, write_report

__all__ = [
    "BIC_DECISIVE",
    "DEFAULT_CANDIDATES",
    "MECHANISMS",
    "Comparison",
    "FitResult",
    "ForwardModel",
    "LeastSquaresResult",
    "Observations",
    "Parameter",
    "Parameters",
    "Prediction",
    "ToyModel",
    "TwinModel",
    "compare_mechanisms",
    "fit",
    "least_squares_fit",
    "measured_delta",
    "observations_from_samples",
    "predict_signatures",
    "profile_likelihood",
    "recommend_measurement",
    "reduce_measurement",
    "separation_map",
    "to_json",
    "write_report",
]

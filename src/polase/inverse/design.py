"""Recommend the next measurement: where the leading mechanisms disagree most.

For the two leading competing candidates (`Comparison.leading_pair`: the best candidate with
a mechanism and the best one that is not a superset of it), predict the contrast
Delta = I(angle) / I(linear) - 1 in every band on a grid of fluences and plate angles. The
noise of a measured Delta with R repeats of each polarization follows from the noise model
of the observations (one acquisition's standard deviation at the predicted intensity):

    sigma_Delta = (1 + Delta) sqrt(s(I_a)^2 / I_a^2 + s(I_0)^2 / I_0^2) / sqrt(R).

The expected separation (in sigma) at a grid point is the quadrature sum over the bands of
|Delta_best - Delta_rival| / sigma_Delta. The recommendation is the grid point with the
largest separation and the smallest number of repeats that reaches `target_sigma` there.
"""

from __future__ import annotations

import math

import numpy as np

from .compare import Comparison
from .models import ForwardModel
from .observables import Observations


def separation_map(
    model: ForwardModel,
    obs: Observations,
    comparison: Comparison,
    fluence,
    qwp_angle,
    repeats: int = 1,
) -> np.ndarray:
    """Expected separation (sigma) of best and rival for each (fluence, angle), shape (F, A).

    Parameters
    ----------
    fluence : array_like (F,)
        [mJ/cm2]
    qwp_angle : array_like (A,)
        [deg]; 0 deg (the reference) gives 0.
    repeats
        Repeats of each polarization.
    """
    f = np.asarray(fluence, dtype=float)
    a = np.asarray(qwp_angle, dtype=float)
    pair = comparison.leading_pair()
    if pair is None:
        return np.zeros((f.size, a.size))
    best, rival = pair
    ang = np.concatenate([[0.0], a])
    deltas, inten = [], None
    for r in (best, rival):
        pred = model.predict(r.mechanism, r.values, f, ang) * r.scales[:, None, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            deltas.append(pred[:, :, 1:] / pred[:, :, :1] - 1.0)
        if inten is None:
            inten = pred
    z2 = np.zeros((f.size, a.size))
    for b in range(len(obs.bands)):
        i0 = inten[b, :, :1]
        ia = inten[b, :, 1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.sqrt((obs.single_sigma(b, ia) / ia) ** 2 + (obs.single_sigma(b, i0) / i0) ** 2)
            sd = (1.0 + deltas[0][b]) * rel / math.sqrt(repeats)
            z = (deltas[0][b] - deltas[1][b]) / sd
        z2 += np.where(np.isfinite(z), z * z, 0.0)
    return np.sqrt(z2)


def recommend_measurement(
    model: ForwardModel,
    obs: Observations,
    comparison: Comparison,
    fluence=None,
    qwp_angle=None,
    target_sigma: float = 5.0,
    max_repeats: int = 100,
) -> dict:
    """The fluence, plate angle and repeats that best separate the leading mechanisms.

    Parameters
    ----------
    model, obs, comparison
        As returned by / given to `compare_mechanisms`.
    fluence : array_like, optional
        Candidate fluences; default the measured range in 0.5 mJ/cm2 steps. [mJ/cm2]
    qwp_angle : array_like, optional
        Candidate plate angles; default 7.5 to 90 deg in 7.5 deg steps. [deg]
    target_sigma
        Separation to reach when choosing the number of repeats. [sigma]
    max_repeats
        Upper limit on the recommended repeats.

    Returns
    -------
    dict
        fluence_mJ_cm2, qwp_angle_deg, repeats, expected_separation_sigma (with those
        repeats), separation_per_repeat_sigma (one repeat), between (the leading pair),
        target_sigma, and grid {fluence_mJ_cm2, qwp_angle_deg, separation_sigma (F, A) for
        one repeat} for plotting. With no competing pair, the separation is 0 and repeats
        is `max_repeats`.
    """
    if fluence is None:
        lo, hi = float(obs.fluence.min()), float(obs.fluence.max())
        n = int(min(41, max(2, round((hi - lo) / 0.5) + 1)))
        fluence = np.linspace(lo, hi, n)
    if qwp_angle is None:
        qwp_angle = np.arange(7.5, 90.0 + 1e-9, 7.5)
    f = np.asarray(fluence, dtype=float)
    a = np.asarray(qwp_angle, dtype=float)
    a = a[a != 0.0]
    pair = comparison.leading_pair()
    sep1 = separation_map(model, obs, comparison, f, a, repeats=1)
    i, j = np.unravel_index(int(np.argmax(sep1)), sep1.shape)
    s1 = float(sep1[i, j])
    if s1 > 0:
        reps = int(min(max_repeats, max(3, math.ceil((target_sigma / s1) ** 2))))
    else:
        reps = int(max_repeats)
    return {
        "fluence_mJ_cm2": float(f[i]),
        "qwp_angle_deg": float(a[j]),
        "repeats": reps,
        "expected_separation_sigma": s1 * math.sqrt(reps),
        "separation_per_repeat_sigma": s1,
        "target_sigma": float(target_sigma),
        "between": [r.mechanism for r in pair] if pair else [],
        "grid": {
            "fluence_mJ_cm2": f.tolist(),
            "qwp_angle_deg": a.tolist(),
            "separation_sigma": sep1.tolist(),
        },
    }

"""Switchable mechanisms for the circular-versus-linear ASE enhancement Delta_ASE.

- "orbit_orbit": cooperative in-phase coupling between same-spin coherent excitons. Each spin
  channel's gain-active density gains kappa * max(N_s - n_c, 0)^2 / n_c, where n_c is the
  coherence density per channel; for N_s >> n_c this is kappa (N_up^2 + N_down^2) / n_c, i.e.
  N^2/2 for a linear pump and up to N^2 for a fully oriented one.
- "spin_channel": sigma+ and sigma- guided light is amplified by N_up and N_down separately
  (selectivity s: channel gain density (1+s) N_same + (1-s) N_other).
- "dichroism": two-photon linear-circular dichroism, beta(DOCP) = beta_lin (1 + delta DOCP^2).
Names combine with "+", e.g. "orbit_orbit+dichroism"; "none" switches all off.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

MECHANISMS: tuple[str, ...] = ("orbit_orbit", "spin_channel", "dichroism")


def parse_mechanism(name: str) -> frozenset[str]:
    """Return the set of active mechanisms for a name like "orbit_orbit+dichroism" or "none"."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("mechanism.name", f"must be a string, got {name!r}")
    if name.strip() == "none":
        return frozenset()
    parts = [p.strip() for p in name.split("+")]
    bad = [p for p in parts if p not in MECHANISMS]
    if bad:
        raise ConfigError(
            "mechanism.name",
            f"unknown mechanism {bad[0]!r}; allowed: 'none' or '+'-joined names from {list(MECHANISMS)}",
        )
    return frozenset(parts)


def cooperative_density(n_spin, kappa: float, n_c: float):
    """Gain-active density of one spin channel with orbit-orbit coupling. [cm^-3]

    N_eff = N_s + kappa * max(N_s - n_c, 0)^2 / n_c.

    Parameters
    ----------
    n_spin
        Spin-channel density. [cm^-3]
    kappa
        Coupling strength. [1]
    n_c
        Coherence density per spin channel. [cm^-3]
    """
    n = np.maximum(np.asarray(n_spin, dtype=float), 0.0)
    if kappa == 0.0:
        return n
    excess = np.maximum(n - n_c, 0.0)
    return n + kappa * excess * excess / n_c


def channel_densities(neff_up, neff_down, n_up, n_down, selectivity: float, n_channels: int):
    """Gain densities and spontaneous densities of the guided-light channels.

    One channel (no spin selectivity): gain density N_eff_up + N_eff_down, spontaneous N.
    Two channels (sigma+, sigma-): gain (1+s) N_eff_same + (1-s) N_eff_other, spontaneous
    ((1+s) N_same + (1-s) N_other) / 2, so their sums equal the one-channel values.

    Returns
    -------
    gain_density, spont_density : ndarray, shape (n_channels, ...)
        [cm^-3]
    """
    if n_channels == 1:
        return (np.asarray(neff_up + neff_down)[None], np.asarray(n_up + n_down)[None])
    s = selectivity
    g = np.stack([(1 + s) * neff_up + (1 - s) * neff_down, (1 + s) * neff_down + (1 - s) * neff_up])
    sp = 0.5 * np.stack([(1 + s) * n_up + (1 - s) * n_down, (1 + s) * n_down + (1 - s) * n_up])
    return g, sp

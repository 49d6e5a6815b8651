"""Fit models: the `Model` wrapper, built-in lineshapes and decays, and their helpers.

A model maps x (M,) or (N, M) and parameters (N, P) to values (N, M). Built-in models
other than the Voigt are compiled (numba) with analytic Jacobians and run inside the
compiled LM kernel; user callables and Voigt-containing models run through the batched
Python driver with a user Jacobian or central finite differences.

Lineshape amplitudes are peak heights (not areas), in the units of y.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import special

from ..errors import FitError
from . import _kernels as K

_FWHM_GAUSS = 2.0 * math.sqrt(2.0 * math.log(2.0))
_BAND_TYPES = {"gaussian": K.GAUSSIAN, "lorentzian": K.LORENTZIAN, "pseudo_voigt": K.PSEUDO_VOIGT}
_BAND_PARAMS = {
    "gaussian": ("amplitude", "center", "sigma"),
    "lorentzian": ("amplitude", "center", "gamma"),
    "pseudo_voigt": ("amplitude", "center", "fwhm", "eta"),
    "voigt": ("amplitude", "center", "sigma", "gamma"),
}
_BASELINES = {"none": (), "constant": ("c0",), "linear": ("c0", "c1")}


class Model:
    """A fit model: f(x, params) -> (N, M), with an optional analytic Jacobian.

    Parameters
    ----------
    func
        Vectorized model ``func(x, params) -> (N, M)``. ``x`` is passed as given to
        `curve_fit_batch` for the fits being evaluated: (M,) when shared, (n, M) when per fit;
        ``params`` is (n, P). Write it with ``params[:, [j]]`` columns so it broadcasts.
    jac
        Optional ``jac(x, params) -> (N, M, P)``. Without it, central finite differences are
        used (2 P extra calls of `func` per Jacobian).
    param_names
        Names of the P parameters. Required unless the model is compiled.
    name
        Label used in results and messages.
    fd_step
        Relative finite-difference step (default eps^(1/3) ~ 6e-6).

    Notes
    -----
    Compiled built-in models are created by `get_model`, `band_sum_model` and
    `reconvolution_model`; they carry an integer ``code`` and an ``aux`` array for the numba
    kernel and are evaluated with analytic Jacobians.
    """

    def __init__(
        self,
        func: Callable | None = None,
        jac: Callable | None = None,
        param_names: Sequence[str] | None = None,
        name: str | None = None,
        *,
        fd_step: float | None = None,
        code: int | None = None,
        aux: np.ndarray | None = None,
        n_points: int | None = None,
        x_grid: np.ndarray | None = None,
    ):
        if func is None and code is None:
            raise FitError("Model needs a callable func(x, params) -> (N, M)")
        if func is not None and not callable(func):
            raise FitError(f"Model func must be callable, got {type(func).__name__}")
        if jac is not None and not callable(jac):
            raise FitError(f"Model jac must be callable, got {type(jac).__name__}")
        if param_names is None:
            raise FitError("Model needs param_names (one name per parameter)")
        names = [str(s) for s in param_names]
        if len(set(names)) != len(names):
            raise FitError(f"duplicate parameter names in {names}")
        self.func = func
        self.jac = jac
        self.param_names = names
        self.name = name or getattr(func, "__name__", "model")
        self.fd_step = float(fd_step) if fd_step is not None else np.finfo(float).eps ** (1 / 3)
        self.code = code
        self.aux = np.ascontiguousarray(aux if aux is not None else np.zeros(1), dtype=float)
        self.n_points = n_points
        self.x_grid = x_grid
        #: compiled user models (`compile_model`): (serial fit, parallel fit, evaluation)
        self.kernels = None

    def __getstate__(self) -> dict:
        # the kernels of a `compile_model` model live in a generated module: send the
        # recipe, the receiving process rebuilds them (from its numba cache when warm)
        state = dict(self.__dict__)
        if state.get("kernels") is not None:
            state["kernels"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        recipe = state.get("recipe")
        if recipe is not None and self.kernels is None:
            from .usermodel import compile_model

            self.kernels = compile_model(*recipe[:2], **recipe[2]).kernels

    def __repr__(self) -> str:
        kind = "compiled" if self.compiled else "python"
        return f"Model({self.name!r}, params={self.param_names}, {kind})"

    @property
    def compiled(self) -> bool:
        """True when the model runs inside the numba LM kernel."""
        return self.code is not None

    @property
    def nparams(self) -> int:
        return len(self.param_names)

    def check_x(self, x: np.ndarray) -> None:
        """Raise if x does not suit the model (reconvolution models need their time grid)."""
        if self.x_grid is not None:
            xs = np.asarray(x, dtype=float)
            rows = xs.reshape(-1, xs.shape[-1])
            if rows.shape[-1] != self.x_grid.size or not np.allclose(
                rows, self.x_grid[None, :], rtol=1e-9, atol=1e-12 * np.abs(self.x_grid).max()
            ):
                raise FitError(
                    f"model {self.name!r} was built for a time grid of {self.x_grid.size} "
                    f"channels ({self.x_grid[0]:g} to {self.x_grid[-1]:g}); x must be that grid"
                )

    def __call__(self, x, params) -> np.ndarray:
        """Model values, (N, M) for params (N, P), (M,) for params (P,)."""
        p = np.asarray(params, dtype=float)
        one = p.ndim == 1
        p2 = np.atleast_2d(p)
        if p2.shape[1] != self.nparams:
            raise FitError(
                f"model {self.name!r} takes {self.nparams} parameters, got {p2.shape[1]}"
            )
        if self.kernels is not None:
            xa = np.atleast_2d(np.asarray(x, dtype=float))
            f, _ = self.kernels[2](_writable(xa), _writable(p2), False)
        elif self.compiled:
            xa = np.atleast_2d(np.asarray(x, dtype=float))
            self.check_x(xa)
            f, _ = K.eval_batch(self.code, self.aux, _writable(xa), _writable(p2), False)
        else:
            f = np.asarray(self.func(np.asarray(x, dtype=float), p2), dtype=float)
            if f.ndim == 1:
                f = f[None, :]
        return f[0] if one else f

    def jacobian(self, x, params, free: np.ndarray | None = None) -> np.ndarray:
        """Jacobian d f / d params, (N, M, P) (analytic, or central differences)."""
        p = np.atleast_2d(np.asarray(params, dtype=float))
        if self.compiled:
            xa = np.atleast_2d(np.asarray(x, dtype=float))
            if self.kernels is not None:
                _, J = self.kernels[2](_writable(xa), _writable(p), True)
            else:
                _, J = K.eval_batch(self.code, self.aux, _writable(xa), _writable(p), True)
            return np.moveaxis(J, 1, 2)
        if self.jac is not None:
            J = np.asarray(self.jac(np.asarray(x, dtype=float), p), dtype=float)
            return J.reshape(p.shape[0], -1, self.nparams)
        return self._fd_jacobian(x, p, free)

    def _fd_jacobian(self, x, p, free):
        n, npar = p.shape
        J = None
        for j in range(npar):
            if free is not None and not np.any(free[:, j] if free.ndim == 2 else free[j]):
                continue
            h = self.fd_step * np.maximum(np.abs(p[:, j]), self.fd_step)
            pp = p.copy()
            pm = p.copy()
            pp[:, j] += h
            pm[:, j] -= h
            h_eff = pp[:, j] - pm[:, j]  # exact representable difference
            fp = np.asarray(self.func(x, pp), dtype=float).reshape(n, -1)
            fm = np.asarray(self.func(x, pm), dtype=float).reshape(n, -1)
            if J is None:
                J = np.zeros((n, fp.shape[1], npar))
            J[:, :, j] = (fp - fm) / h_eff[:, None]
        if J is None:
            m = np.asarray(self.func(x, p), dtype=float).reshape(n, -1).shape[1]
            J = np.zeros((n, m, npar))
        return J


# ---- Voigt (Python path: scipy's Faddeeva-based profile) -----------------------------------


def _voigt_values(x, p):
    """amplitude * V(x - center; sigma, gamma) / V(0; sigma, gamma)."""
    a, c, s, g = (p[:, [j]] for j in range(4))
    with np.errstate(invalid="ignore", divide="ignore"):
        return a * special.voigt_profile(x - c, s, g) / special.voigt_profile(0.0, s, g)


def _writable(a: np.ndarray) -> np.ndarray:
    """C-contiguous and writable: a read-only array (an xarray coordinate) would make numba
    compile the kernels a second time for the read-only type."""
    a = np.ascontiguousarray(a)
    return a if a.flags.writeable else a.copy()


def _band_values(kind: str, x, p):
    if kind == "voigt":
        return _voigt_values(x, p)
    m = get_model(kind)
    xa = np.atleast_2d(np.asarray(x, dtype=float))
    return K.eval_batch(m.code, m.aux, _writable(xa), _writable(p), False)[0]


def _python_band_sum(bands: Sequence[str], baseline: str, names: list[str]) -> Model:
    """Band sum containing Voigt bands, evaluated in numpy/scipy."""
    widths = [len(_BAND_PARAMS[b]) for b in bands]

    def func(x, p):
        col = 0
        total = 0.0
        for kind, w in zip(bands, widths):
            total = total + _band_values(kind, x, np.ascontiguousarray(p[:, col : col + w]))
            col += w
        if baseline in ("constant", "linear"):
            total = total + p[:, [col]]
        if baseline == "linear":
            total = total + p[:, [col + 1]] * np.asarray(x)
        return total

    return Model(func, param_names=names, name="band_sum(" + ",".join(bands) + f";{baseline})")


# ---- public constructors ------------------------------------------------------------------

_SIMPLE = {
    "gaussian": (K.GAUSSIAN, ["amplitude", "center", "sigma"]),
    "gaussian_offset": (K.GAUSSIAN_OFFSET, ["amplitude", "center", "sigma", "offset"]),
    "lorentzian": (K.LORENTZIAN, ["amplitude", "center", "gamma"]),
    "pseudo_voigt": (K.PSEUDO_VOIGT, ["amplitude", "center", "fwhm", "eta"]),
}

#: names accepted by `get_model`
MODEL_NAMES = (*_SIMPLE, "voigt", "exp1", "exp2", "exp3")


def _exp_names(n: int) -> list[str]:
    names = []
    for i in range(1, n + 1):
        names += [f"a{i}", f"tau{i}"]
    return names


def get_model(name: str | Model) -> Model:
    """Built-in model by name (a `Model` is returned unchanged).

    Parameters
    ----------
    name
        One of "gaussian" (amplitude, center, sigma), "gaussian_offset" (amplitude, center,
        sigma, offset), "lorentzian" (amplitude, center, gamma [HWHM]), "pseudo_voigt"
        (amplitude, center, fwhm, eta), "voigt" (amplitude, center, sigma, gamma),
        "exp1" / "exp2" / "exp3" (a1, tau1, ..., offset): sum_i a_i exp(-x / tau_i) + offset.
        Amplitudes are peak heights [units of y]; center, widths and lifetimes are in the
        units of x.

    Returns
    -------
    Model
    """
    if isinstance(name, Model):
        return name
    if not isinstance(name, str):
        raise FitError(f"model must be a name, a Model or a callable, got {type(name).__name__}")
    if name in _SIMPLE:
        code, names = _SIMPLE[name]
        return Model(param_names=names, name=name, code=code)
    if name == "voigt":
        return Model(_voigt_values, param_names=list(_BAND_PARAMS["voigt"]), name="voigt")
    if name in ("exp1", "exp2", "exp3"):
        n = int(name[-1])
        return Model(
            param_names=[*_exp_names(n), "offset"],
            name=name,
            code=K.EXPDECAY,
            aux=np.array([n], float),
        )
    raise FitError(f"unknown model {name!r}; built-in models are {', '.join(MODEL_NAMES)}")


def band_sum_model(bands: Sequence[str], baseline: str = "none") -> Model:
    """Sum of lineshape bands plus a baseline.

    Parameters
    ----------
    bands
        Band kinds, each "gaussian", "lorentzian", "pseudo_voigt" or "voigt".
    baseline
        "none", "constant" (c0) or "linear" (c0 + c1 x).

    Returns
    -------
    Model
        Parameters ``b{i}_{name}`` for each band i (names as in `get_model`), then
        ``baseline_c0`` [, ``baseline_c1``]. Compiled unless a Voigt band is present.
    """
    bands = [str(b) for b in bands]
    if not bands:
        raise FitError("band_sum_model needs at least one band")
    for b in bands:
        if b not in _BAND_PARAMS:
            raise FitError(f"unknown band kind {b!r}; allowed: {', '.join(_BAND_PARAMS)}")
    if baseline not in _BASELINES:
        raise FitError(f"unknown baseline {baseline!r}; allowed: {', '.join(_BASELINES)}")
    names = [f"b{i}_{p}" for i, b in enumerate(bands) for p in _BAND_PARAMS[b]]
    names += [f"baseline_{c}" for c in _BASELINES[baseline]]
    if "voigt" in bands:
        return _python_band_sum(bands, baseline, names)
    aux = np.array(
        [len(bands), *[_BAND_TYPES[b] for b in bands], list(_BASELINES).index(baseline)], float
    )
    name = "band_sum(" + ",".join(bands) + f";{baseline})"
    model = Model(param_names=names, name=name, code=K.BAND_SUM, aux=aux)
    model.bands = bands
    model.baseline = baseline
    return model


def channel_irf(irf: np.ndarray) -> np.ndarray:
    """IRF histogram as the excitation density of a channel-integrated reconvolution.

    The reconvolution spreads each IRF channel's excitation uniformly over the channel. A
    histogram's channel integrals placed that way carry w^2 / 6 more variance than the
    response itself (w^2 / 12 from grouping, Sheppard's correction, and w^2 / 12 from the
    uniform spread; w the channel width), enough to pull a lifetime of a few IRF widths
    short by a standard error at 50 ps channels. Subtracting a twelfth of the second
    difference, irf - (irf[k+1] - 2 irf[k] + irf[k-1]) / 12, removes that excess and keeps
    the sum and the mean; the few slightly negative values at the foot are clipped.

    Parameters
    ----------
    irf
        Instrument response per channel, (M,) [counts].

    Returns
    -------
    ndarray
        The corrected response, non-negative, unit sum, (M,) [1].
    """
    g = np.asarray(irf, dtype=float)
    g = g / g.sum()
    pad = np.concatenate([[0.0], g, [0.0]])
    out = np.clip(g - (pad[2:] - 2.0 * g + pad[:-2]) / 12.0, 0.0, None)
    return out / out.sum()


def reconvolution_model(
    irf: np.ndarray, time_ns: np.ndarray, n_exp: int = 1, period_ns: float | None = None
) -> Model:
    """IRF-reconvolved multi-exponential decay for TCSPC histograms.

    The model for channel k (time t_k = time_ns[k], uniform width dt) is::

        f_k = background + sum_i a_i c_ik + scatter * F * irf_s[k]
        c_ik = w0_i irf_s[k] + b_i sum_{j < k} irf_s[j] q_i^(k-1-j)   (+ earlier pulses)
        F = sum_i a_i tau_i / dt

    with q = exp(-x), x = dt / tau, w0 = (x - 1 + q) / x^2 and b = ((1 - q) / x)^2: the
    exponential integrated over whole channels, with each IRF channel's excitation spread
    over its width (what a histogram counts: the excitation channel itself gets about half
    a channel of emission, w0 ~ 1/2, not a full one). irf_s is `channel_irf` of the IRF
    (unit sum, the w^2 / 6 variance excess of that spread removed) delayed by ``shift_ns``
    (the difference of its cumulative at the shifted channel edges, the cumulative a
    monotone cubic through the edges: non-negative, exact at whole channels, and smooth in
    the shift, with no kink at whole channels where the fitted shift of an IRF recorded on
    the histogram's channels sits). An IRF
    on the histogram's own channels needs no shift. With ``period_ns`` the decay
    left over from all earlier pulses is added in closed form (geometric sum
    1 / (1 - exp(-T / tau))), which requires period_ns >= the histogram span. The convolution
    is the exact recursion S_k+1 = q S_k + irf_s[k]: O(M) per component, no FFT. Issue #14:
    the former full-weight lag 0 (and the IRF's within-channel spread) biased a 0.9 ns
    lifetime 0.6 % short at 50 ps channels (95 % coverage 0.78).

    Parameters
    ----------
    irf
        Instrument response on the same channels, (M,) [counts]; normalized internally.
    time_ns
        Channel times, uniform, (M,). [ns]
    n_exp
        Number of exponential components (1 to 3 typical; any >= 1).
    period_ns
        Laser repetition period for the incomplete-decay sum; None for single-shot. [ns]

    Returns
    -------
    Model
        Parameters a1, tau1, ..., a_n, tau_n, shift_ns, background, scatter:
        a_i: amplitude of component i at its onset [counts/channel]; tau_i: lifetime [ns];
        shift_ns: IRF delay [ns]; background: constant [counts/channel]; scatter: scattered
        excitation light as a fraction of the fluorescence counts per pulse [1].
    """
    irf = np.asarray(irf, dtype=float)
    t = np.asarray(time_ns, dtype=float)
    if irf.ndim != 1 or t.ndim != 1 or irf.size != t.size:
        raise FitError(
            f"irf and time_ns must be 1-D of equal length, got {irf.shape} and {t.shape}"
        )
    if t.size < 3:
        raise FitError("time_ns needs at least 3 channels")
    if not (np.all(np.isfinite(irf)) and np.all(np.isfinite(t))):
        raise FitError("irf and time_ns must be finite")
    dt = np.diff(t)
    if np.any(dt <= 0) or not np.allclose(dt, dt.mean(), rtol=1e-6):
        raise FitError("time_ns must be uniform and increasing (TCSPC channels)")
    if np.any(irf < 0) or irf.sum() <= 0:
        raise FitError("irf must be non-negative with a positive sum")
    n_exp = int(n_exp)
    if n_exp < 1:
        raise FitError(f"n_exp must be >= 1, got {n_exp}")
    dtm = float(dt.mean())
    span = dtm * t.size
    if period_ns is not None:
        period_ns = float(period_ns)
        if not (period_ns >= span * (1 - 1e-9)):
            raise FitError(
                f"period_ns={period_ns:g} must be >= the histogram span {span:g} ns "
                "(M channels x channel width)"
            )
    aux = np.concatenate([[n_exp, period_ns or 0.0, dtm], channel_irf(irf)])
    names = [*_exp_names(n_exp), "shift_ns", "background", "scatter"]
    model = Model(
        param_names=names,
        name=f"reconvolution(n_exp={n_exp})",
        code=K.RECONV,
        aux=aux,
        n_points=t.size,
        x_grid=t.copy(),
    )
    model.n_exp = n_exp
    model.period_ns = period_ns
    model.irf = irf.copy()
    return model


# ---- derived quantities -------------------------------------------------------------------


def voigt_fwhm(sigma, gamma) -> np.ndarray:
    """FWHM of a Voigt profile (Olivero & Longbothum 1977, ~0.02 % accurate) [units of x]."""
    fg = _FWHM_GAUSS * np.asarray(sigma, float)
    fl = 2.0 * np.asarray(gamma, float)
    return 0.5346 * fl + np.sqrt(0.2166 * fl**2 + fg**2)


def fwhm_from_params(model_name: str, params) -> np.ndarray:
    """Full width at half maximum of a single-band built-in lineshape.

    Parameters
    ----------
    model_name
        "gaussian", "gaussian_offset", "lorentzian", "pseudo_voigt" or "voigt".
    params
        Parameters in that model's order, (P,) or (N, P).

    Returns
    -------
    ndarray
        FWHM, (N,) or scalar [units of x].
    """
    p = np.asarray(params, dtype=float)
    col = (lambda j: p[..., j]) if p.ndim else None
    if model_name in ("gaussian", "gaussian_offset"):
        return _FWHM_GAUSS * np.abs(col(2))
    if model_name == "lorentzian":
        return 2.0 * np.abs(col(2))
    if model_name == "pseudo_voigt":
        return np.abs(col(2))
    if model_name == "voigt":
        return voigt_fwhm(np.abs(col(2)), np.abs(col(3)))
    raise FitError(f"no FWHM rule for model {model_name!r}")

"""Fit status codes and the batch result container."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from . import _lm


class FitStatus(IntEnum):
    """Outcome of one fit in a batch (stored as int8 in `BatchFitResult.status`)."""

    #: a convergence test (xtol, ftol, zero cost, bound-constrained stationary point) was met
    CONVERGED = _lm.CONVERGED
    #: max_iter steps were tried without meeting a convergence test
    MAX_ITER = _lm.MAX_ITER
    #: the curvature matrix J^T W J is singular at the end (a parameter is not identifiable)
    #: or became non-finite; parameters are returned, standard errors are NaN
    SINGULAR = _lm.SINGULAR
    #: the data, x, weights or starting values of this fit contain NaN/inf (nan_policy="omit"
    #: only keeps going when nothing finite is left to fit); parameters are NaN
    NONFINITE_INPUT = _lm.NONFINITE_INPUT
    #: the problem is not well posed: fewer valid points than free parameters, an all-zero
    #: Poisson decay, or a model that is not admissible at the start (e.g. Poisson f <= 0
    #: where counts > 0); parameters are NaN
    INVALID_INPUT = _lm.INVALID_INPUT


@dataclass
class BatchFitResult:
    """Results of `curve_fit_batch` for N fits of P parameters.

    Attributes
    ----------
    params
        Best-fit parameters, (N, P). NaN for fits with status NONFINITE_INPUT or
        INVALID_INPUT.
    stderr
        Standard errors sqrt(diag(cov)), (N, P); 0 for fixed parameters, NaN when singular.
    cov
        Covariance matrices, (N, P, P). For loss="lsq": inv(J^T W J), scaled by `redchi`
        when no weights were given (scipy's absolute_sigma=False) and unscaled when weights
        1/sigma^2 were given (absolute_sigma=True). For loss="poisson": the inverse Fisher
        information inv(J^T diag(1/f) J).
    cost
        Final chi-square sum(w (y - f)^2) (lsq) or Poisson deviance (poisson), (N,).
    redchi
        cost / nfree, (N,); NaN where nfree <= 0.
    status
        `FitStatus` codes, (N,) int8.
    n_iter
        Number of LM steps tried (accepted or not), (N,).
    nfree
        Degrees of freedom: valid points minus free (non-fixed) parameters, (N,).
    param_names
        Names of the P parameters.
    """

    params: np.ndarray
    stderr: np.ndarray
    cov: np.ndarray
    cost: np.ndarray
    redchi: np.ndarray
    status: np.ndarray
    n_iter: np.ndarray
    nfree: np.ndarray
    param_names: list[str]
    loss: str = "lsq"
    model_name: str = ""
    info: dict = field(default_factory=dict)

    @property
    def success(self) -> np.ndarray:
        """True where status is CONVERGED, (N,)."""
        return self.status == FitStatus.CONVERGED

    @property
    def n_fits(self) -> int:
        return self.params.shape[0]

    def __len__(self) -> int:
        return self.n_fits

    def __getitem__(self, name: str) -> np.ndarray:
        """Column of `params` by parameter name, (N,)."""
        try:
            return self.params[:, self.param_names.index(name)]
        except ValueError:
            raise KeyError(f"no parameter {name!r}; parameters are {self.param_names}") from None

    @classmethod
    def concat(cls, parts: list[BatchFitResult]) -> BatchFitResult:
        """The results of consecutive batches of fits as one result (fits in order)."""
        if not parts:
            raise ValueError("nothing to concatenate")
        first = parts[0]
        arrays = {
            k: np.concatenate([getattr(r, k) for r in parts])
            for k in ("params", "stderr", "cov", "cost", "redchi", "status", "n_iter", "nfree")
        }
        return cls(
            **arrays, param_names=list(first.param_names), loss=first.loss,
            model_name=first.model_name, info=dict(first.info),
        )  # fmt: skip

    def summary(self) -> dict[str, int]:
        """Number of fits per status name."""
        codes, counts = np.unique(self.status, return_counts=True)
        return {FitStatus(int(c)).name: int(k) for c, k in zip(codes, counts)}

    def to_dataset(self, fit_dim: str = "fit"):
        """The results as an `xarray.Dataset` with dimensions (fit, param[, param2])."""
        import xarray as xr

        names = list(self.param_names)
        ds = xr.Dataset(
            {
                "params": ((fit_dim, "param"), self.params),
                "stderr": ((fit_dim, "param"), self.stderr),
                "cov": ((fit_dim, "param", "param2"), self.cov),
                "cost": ((fit_dim,), self.cost),
                "redchi": ((fit_dim,), self.redchi),
                "status": ((fit_dim,), self.status),
                "n_iter": ((fit_dim,), self.n_iter),
                "nfree": ((fit_dim,), self.nfree),
                "success": ((fit_dim,), self.success),
            },
            coords={"param": names, "param2": names},
            attrs={
                "loss": self.loss,
                "model": self.model_name,
                "status_codes": ", ".join(f"{s.value}={s.name}" for s in FitStatus),
            },
        )
        ds["status"].attrs["flag_values"] = [int(s) for s in FitStatus]
        ds["status"].attrs["flag_meanings"] = " ".join(s.name.lower() for s in FitStatus)
        return ds

"""NIST StRD nonlinear regression: all 27 datasets, both certified starts, N = 1 and batched.

Certified parameters and residual sum of squares must be reached to >= 6 significant digits
(lower and average difficulty) or >= 4 (higher difficulty), with `curve_fit_batch`'s default
settings and FitStatus.CONVERGED. The models are user callables
(central finite-difference Jacobians), so this exercises the Python-callable driver of the
same LM engine; `test_nist_compiled_kernel` runs the ones expressible as built-in models
(Misra1a = exp-type saturation is not; Lanczos = exp3 without offset is, via a fixed offset).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from polase.fitting import FitStatus, Model, curve_fit_batch


def _b(p, n):
    return [p[:, [j]] for j in range(n)]


def _gauss(x, p):
    b1, b2, b3, b4, b5, b6, b7, b8 = _b(p, 8)
    return (
        b1 * np.exp(-b2 * x)
        + b3 * np.exp(-((x - b4) ** 2) / b5**2)
        + b6 * np.exp(-((x - b7) ** 2) / b8**2)
    )


def _lanczos(x, p):
    b1, b2, b3, b4, b5, b6 = _b(p, 6)
    return b1 * np.exp(-b2 * x) + b3 * np.exp(-b4 * x) + b5 * np.exp(-b6 * x)


def _rat_cubic(x, p):
    b1, b2, b3, b4, b5, b6, b7 = _b(p, 7)
    return (b1 + b2 * x + b3 * x**2 + b4 * x**3) / (1 + b5 * x + b6 * x**2 + b7 * x**3)


def _chwirut(x, p):
    b1, b2, b3 = _b(p, 3)
    return np.exp(-b1 * x) / (b2 + b3 * x)


def _enso(x, p):
    b1, b2, b3, b4, b5, b6, b7, b8, b9 = _b(p, 9)
    w = 2 * np.pi * x
    return (
        b1
        + b2 * np.cos(w / 12)
        + b3 * np.sin(w / 12)
        + b5 * np.cos(w / b4)
        + b6 * np.sin(w / b4)
        + b8 * np.cos(w / b7)
        + b9 * np.sin(w / b7)
    )


#: model of each dataset; a name shared by several datasets batches them together
MODELS = {
    "Misra1a": ("misra1a", lambda x, p: p[:, [0]] * (1 - np.exp(-p[:, [1]] * x))),
    "Chwirut1": ("chwirut", _chwirut),
    "Chwirut2": ("chwirut", _chwirut),
    "Lanczos1": ("lanczos", _lanczos),
    "Lanczos2": ("lanczos", _lanczos),
    "Lanczos3": ("lanczos", _lanczos),
    "Gauss1": ("gauss", _gauss),
    "Gauss2": ("gauss", _gauss),
    "Gauss3": ("gauss", _gauss),
    "DanWood": ("danwood", lambda x, p: p[:, [0]] * x ** p[:, [1]]),
    "Misra1b": ("misra1b", lambda x, p: p[:, [0]] * (1 - (1 + p[:, [1]] * x / 2) ** -2)),
    "Kirby2": (
        "kirby2",
        lambda x, p: (
            (p[:, [0]] + p[:, [1]] * x + p[:, [2]] * x**2) / (1 + p[:, [3]] * x + p[:, [4]] * x**2)
        ),
    ),
    "Hahn1": ("ratcubic", _rat_cubic),
    "Thurber": ("ratcubic", _rat_cubic),
    "MGH17": (
        "mgh17",
        lambda x, p: (
            p[:, [0]] + p[:, [1]] * np.exp(-x * p[:, [3]]) + p[:, [2]] * np.exp(-x * p[:, [4]])
        ),
    ),
    "Misra1c": ("misra1c", lambda x, p: p[:, [0]] * (1 - (1 + 2 * p[:, [1]] * x) ** -0.5)),
    "Misra1d": ("misra1d", lambda x, p: p[:, [0]] * p[:, [1]] * x / (1 + p[:, [1]] * x)),
    "Roszman1": (
        "roszman1",
        lambda x, p: p[:, [0]] - p[:, [1]] * x - np.arctan(p[:, [2]] / (x - p[:, [3]])) / np.pi,
    ),
    "ENSO": ("enso", _enso),
    "MGH09": (
        "mgh09",
        lambda x, p: p[:, [0]] * (x**2 + x * p[:, [1]]) / (x**2 + x * p[:, [2]] + p[:, [3]]),
    ),
    "BoxBOD": ("boxbod", lambda x, p: p[:, [0]] * (1 - np.exp(-p[:, [1]] * x))),
    "Rat42": ("rat42", lambda x, p: p[:, [0]] / (1 + np.exp(p[:, [1]] - p[:, [2]] * x))),
    "MGH10": ("mgh10", lambda x, p: p[:, [0]] * np.exp(p[:, [1]] / (x + p[:, [2]]))),
    "Eckerle4": (
        "eckerle4",
        lambda x, p: p[:, [0]] / p[:, [1]] * np.exp(-0.5 * ((x - p[:, [2]]) / p[:, [1]]) ** 2),
    ),
    "Rat43": (
        "rat43",
        lambda x, p: p[:, [0]] / (1 + np.exp(p[:, [1]] - p[:, [2]] * x)) ** (1 / p[:, [3]]),
    ),
    "Bennett5": ("bennett5", lambda x, p: p[:, [0]] * (p[:, [1]] + x) ** (-1 / p[:, [2]])),
    # two predictors: x carries the row index into (x1, x2), see _nelson
    "Nelson": ("nelson", None),
}
DATASETS = list(MODELS)


def _parse(path: Path) -> dict:
    lines = path.read_text().splitlines()
    start1, start2, cert, cert_sd = [], [], [], []
    rss = None
    difficulty = None
    data_start = None
    for i, line in enumerate(lines):
        m = re.match(r"\s*b\d+\s*=\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", line)
        if m:
            start1.append(float(m[1]))
            start2.append(float(m[2]))
            cert.append(float(m[3]))
            cert_sd.append(float(m[4]))
        if line.strip().startswith("Residual Sum of Squares"):
            rss = float(line.split()[-1])
        m = re.search(r"(Lower|Average|Higher) Level of Difficulty", line)
        if m:
            difficulty = m[1].lower()
        if re.match(r"\s*Data:\s+y\s", line):
            data_start = i + 1
    data = np.array([[float(v) for v in ln.split()] for ln in lines[data_start:] if ln.strip()])
    return {
        "start": np.array([start1, start2]),
        "cert": np.array(cert),
        "cert_sd": np.array(cert_sd),
        "rss": rss,
        "difficulty": difficulty,
        "y": data[:, 0],
        "x": data[:, 1:],
    }


def _problem(name: str, nist_dir: Path):
    d = _parse(nist_dir / f"{name}.dat")
    if name == "Nelson":
        x1, x2 = d["x"][:, 0], d["x"][:, 1]

        def nelson(x, p):
            k = np.asarray(x, dtype=int)
            return p[:, [0]] - p[:, [1]] * x1[k] * np.exp(-p[:, [2]] * x2[k])

        d["y"] = np.log(d["y"])  # NIST: log[y] = b1 - b2*x1 * exp[-b3*x2]
        x = np.arange(d["y"].size, dtype=float)
        func = nelson
    else:
        x = d["x"][:, 0]
        func = MODELS[name][1]
    npar = d["cert"].size
    model = Model(func, param_names=[f"b{j + 1}" for j in range(npar)], name=name)
    return model, x, d


def _digits(value, certified):
    """Log relative error (LRE): number of matching significant digits."""
    value = np.asarray(value, float)
    err = np.abs(value - certified) / np.abs(certified)
    with np.errstate(divide="ignore"):
        return np.where(err == 0, 15.0, -np.log10(err))


def _required(difficulty: str) -> float:
    return 4.0 if difficulty == "higher" else 6.0


@pytest.fixture(scope="module")
def nist_dir(external_dir) -> Path:
    d = external_dir / "nist_strd"
    if not d.is_dir():
        pytest.skip(f"{d} not found")
    return d


#: Lanczos1's certified RSS 1.43e-25 is the sum of 24 residuals of ~9e-14, computed by NIST in
#: extended precision. Evaluating the model in float64 rounds each value by up to ~4e-16
#: (2.5 * eps), i.e. ~0.5 % of each residual, so the RSS found in float64 is only defined to
#: ~1 % (LRE ~2), and so are the standard deviations that scale with sqrt(RSS); the parameters
#: match to 10 digits. (Even the certified parameters, given to 11 digits, yield an RSS of 4e-21
#: in float64.) We require the RSS to 1.5 digits there.
FLOAT64_RSS_LIMIT = {"Lanczos1": 1.5}


@pytest.mark.parametrize("start", [1, 2])
@pytest.mark.parametrize("name", DATASETS)
def test_nist_single(nist_dir, name, start):
    model, x, d = _problem(name, nist_dir)
    res = curve_fit_batch(model, x, d["y"], d["start"][start - 1])
    need = _required(d["difficulty"])
    need_rss = FLOAT64_RSS_LIMIT.get(name, need)
    assert res.status[0] == FitStatus.CONVERGED, (
        name,
        start,
        FitStatus(res.status[0]).name,
        res.params[0],
    )
    assert _digits(res.params[0], d["cert"]).min() >= need, (name, start, res.params[0], d["cert"])
    assert _digits(res.cost[0], d["rss"]) >= need_rss, (name, start, res.cost[0], d["rss"])
    # certified standard deviations (stderr scaled by the reduced chi-square, as NIST's)
    assert _digits(res.stderr[0], d["cert_sd"]).min() >= min(need, need_rss) - 1, (
        res.stderr[0],
        d["cert_sd"],
    )


def test_mgh10_start1_log_parameter(nist_dir):
    """MGH10 from start 1 with b1 = exp(c1): the same minimum from a reparameterized start."""
    _, x, d = _problem("MGH10", nist_dir)
    model = Model(
        lambda x, p: np.exp(p[:, [0]] + p[:, [1]] / (x + p[:, [2]])), param_names=["c1", "b2", "b3"]
    )
    p0 = d["start"][0].copy()
    p0[0] = np.log(p0[0])
    res = curve_fit_batch(model, x, d["y"], p0)
    params = res.params[0].copy()
    params[0] = np.exp(params[0])
    assert res.status[0] == FitStatus.CONVERGED
    assert _digits(params, d["cert"]).min() >= 6
    assert _digits(res.cost[0], d["rss"]) >= 6


def test_nist_batched(nist_dir):
    """All datasets of one model form and both starts in one call (NaN padding, 'omit')."""
    groups: dict[str, list[str]] = {}
    for name, (key, _) in MODELS.items():
        groups.setdefault(key, []).append(name)
    for key, names in groups.items():
        probs = [_problem(n, nist_dir) for n in names]
        model = probs[0][0]
        m = max(p[1].size for p in probs)
        xs, ys, p0s, certs, rss, need = [], [], [], [], [], []
        for _, x, d in probs:
            pad = m - x.size
            for s in (0, 1):
                xs.append(np.concatenate([x, np.full(pad, np.nan)]))
                ys.append(np.concatenate([d["y"], np.full(pad, np.nan)]))
                p0s.append(d["start"][s])
                certs.append(d["cert"])
                rss.append(d["rss"])
                need.append(_required(d["difficulty"]))
        xs = np.array(xs)
        if names == ["Nelson"]:
            xs = np.nan_to_num(xs)  # index abscissa; padding points are dropped through y
        res = curve_fit_batch(model, xs, np.array(ys), np.array(p0s), nan_policy="omit")
        for i in range(len(ys)):
            name, start = names[i // 2], i % 2 + 1
            label = (key, name, "start", start)
            assert res.status[i] == FitStatus.CONVERGED, label
            assert _digits(res.params[i], certs[i]).min() >= need[i], (
                label,
                res.params[i],
                certs[i],
            )
            assert _digits(res.cost[i], rss[i]) >= FLOAT64_RSS_LIMIT.get(name, need[i]), label

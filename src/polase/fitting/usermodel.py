"""User models at compiled speed: a plain scalar function compiled into the LM kernel.

A user writes the model for one point, ``f(x, a, b, c) -> float`` (``math`` or ``numpy``
functions, arithmetic, constants). `compile_model` turns it into a `Model` that runs inside
the same numba LM loop as the built-in models (`polase.fitting._lm.make_generic_loop` and
`make_fused_loop` build it from the model's own functions), with an analytic Jacobian:

* ``jacobian="auto"`` (default): the function is traced with sympy symbols and
  differentiated symbolically; value and derivatives become one straight-line function with
  the common subexpressions computed once (``sympy.cse``). A function sympy cannot trace
  (branches on values, loops, calls sympy does not know) falls back to
* ``jacobian="numeric"``: the user's function itself is compiled with numba and the Jacobian
  is taken by central differences inside the kernel (2 P extra calls per point);
* or the user gives the derivatives (``derivatives=[df_da, df_db, ...]``, same signature).

The generated module is written to a cache folder (``$POLASE_CACHE_DIR`` or
``~/.cache/polase/models``), named by a hash of the function's source, so numba's on-disk
cache (``cache=True``) is reused by later runs: only the first use of a new model compiles.
A function that numba rejects raises `FitError` naming the line of the user's function.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import math
import os
import re
import sys
import textwrap
import types
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .._files import write_text_atomic
from ..errors import FitError
from . import _lm

#: bump when the generated code changes (part of the cache key)
_GENERATOR_VERSION = "7"

#: user functions handed to generated modules (key -> tuple of njit functions)
_REGISTRY: dict[str, tuple] = {}
#: generated modules already imported in this process (key -> module)
_MODULES: dict[str, types.ModuleType] = {}
#: models already built in this process ((func, derivatives, names, name, jacobian) -> Model)
_MODELS: dict[tuple, object] = {}


def _engine_hash() -> str:
    """Hash of the LM and kernel sources: the generated modules call their functions, which
    numba's cache of a generated module does not track, so a new engine means a new key."""
    from . import _kernels

    h = hashlib.sha256()
    for mod in (_lm, _kernels):
        h.update(Path(mod.__file__).read_bytes())
    return h.hexdigest()[:16]


def cache_dir() -> Path:
    """Folder of the generated model modules (and their numba cache)."""
    env = os.environ.get("POLASE_CACHE_DIR")
    base = Path(env) if env else Path.home() / ".cache" / "polase"
    return base / "models"


def _arg_names(func: Callable) -> list[str]:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        raise FitError(f"cannot read the signature of model {func!r}") from None
    names = []
    for prm in sig.parameters.values():
        if prm.kind not in (prm.POSITIONAL_ONLY, prm.POSITIONAL_OR_KEYWORD):
            raise FitError(
                f"model {getattr(func, '__name__', func)!r}: only positional parameters "
                f"f(x, p1, p2, ...) are supported, got {prm.name!r} ({prm.kind.description})"
            )
        names.append(prm.name)
    if len(names) < 2:
        raise FitError(
            f"model {getattr(func, '__name__', func)!r} must take x and at least one parameter: "
            "f(x, p1, p2, ...)"
        )
    return names


def _source(func: Callable) -> str:
    try:
        return textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        # no source (defined in an interactive session): the bytecode identifies it
        return repr(func.__code__.co_code) + repr(func.__code__.co_consts)


# ---- symbolic tracing -------------------------------------------------------------------


def _sympy_namespace():
    import sympy as sp

    def power(a, b):
        return a**b

    def square(a):
        return a**2

    funcs = {
        "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos,
        "tan": sp.tan, "arctan": sp.atan, "atan": sp.atan, "arcsin": sp.asin, "asin": sp.asin,
        "arccos": sp.acos, "acos": sp.acos, "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh,
        "arctan2": sp.atan2, "atan2": sp.atan2, "log10": lambda a: sp.log(a, 10),
        "log2": lambda a: sp.log(a, 2), "log1p": lambda a: sp.log(1 + a),
        "expm1": lambda a: sp.exp(a) - 1, "erf": sp.erf, "erfc": sp.erfc, "power": power,
        "pow": power, "square": square, "hypot": lambda a, b: sp.sqrt(a**2 + b**2),
        "pi": sp.pi, "e": sp.E,
    }  # fmt: skip
    return funcs


class _Shim(types.SimpleNamespace):
    """Stands for ``math`` / ``numpy`` while tracing: every attribute is the sympy one."""

    def __getattr__(self, name):
        raise AttributeError(f"sympy tracing does not know {name!r}")


def _trace(func: Callable, names: list[str]):
    """Value and gradient expressions of func by sympy, or None when it cannot be traced."""
    try:
        import sympy as sp
    except ImportError:  # optional: fall back to compiled finite differences
        return None
    ns = _sympy_namespace()
    shim = _Shim(**ns)
    known = {}
    for mod in (math, np):
        for k, v in ns.items():
            if hasattr(mod, k):
                known[id(getattr(mod, k))] = v
    glb = dict(func.__globals__)
    for k, v in list(glb.items()):
        if v is math or v is np:
            glb[k] = shim
        elif callable(v) and id(v) in known:
            glb[k] = known[id(v)]
    traced = types.FunctionType(
        func.__code__, glb, func.__name__, func.__defaults__, func.__closure__
    )
    syms = [sp.Symbol(f"_v{j}", real=True) for j in range(len(names))]
    try:
        expr = sp.sympify(traced(*syms))
    except Exception:  # branches on values, unknown calls...: not traceable
        return None
    if not isinstance(expr, sp.Expr) or expr.has(sp.zoo, sp.nan):
        return None
    grads = [sp.diff(expr, s) for s in syms[1:]]
    return syms, expr, grads


def _codegen(syms, expr, grads) -> str | None:
    """Body of ``_fj(_v0, _v1, ...)`` returning (f, df/dp1, ...) as Python/numba source."""
    import sympy as sp
    from sympy.printing.pycode import PythonCodePrinter

    class _Printer(PythonCodePrinter):
        def _print_exp(self, e):  # the vectorizable exp of the built-in kernels
            return f"_vexp({self._print(e.args[0])})"

        def _print_Pow(self, e, rational=False):
            # small integer powers as products: numba's integer power is a loop, which
            # keeps LLVM from vectorizing the loop over the points
            b, n = e.args
            if n.is_Integer and 1 <= abs(int(n)) <= 4:
                base = self.parenthesize(b, 1000)  # always parenthesized
                prod = "*".join([f"({self._print(b)})"] * abs(int(n))) if base else ""
                return f"({prod})" if int(n) > 0 else f"(1.0/({prod}))"
            return super()._print_Pow(e, rational=rational)

    printer = _Printer({"fully_qualified_modules": True, "standard": "python3"})
    reps, reduced = sp.cse([expr, *grads], symbols=sp.numbered_symbols("_t"))
    lines = []
    try:
        for s, e in reps:
            lines.append(f"    {s} = {printer.doprint(e)}")
        outs = [printer.doprint(e) for e in reduced]
    except Exception:
        return None
    if any("not supported" in ln for ln in [*lines, *outs]):
        return None
    args = ", ".join(str(s) for s in syms)
    body = "\n".join(lines)
    outs = [f"float({o})" for o in outs]  # one float type for every entry
    return f"def _fj({args}):\n{body}\n    return ({', '.join(outs)},)\n"


# ---- the generated module ---------------------------------------------------------------


def _loop_source(fused: bool) -> str:
    """The LM loops of the generated module, made by `_lm`'s loop factories from the model's
    own functions: `fit_one` (any loss, geodesic acceleration) from its ``eval_model`` and,
    for a symbolic model, the fused least-squares loop `fit_gauss` from its one-pass normal
    equations ``user_normal``; with the row functions of `_lm` (their source, verbatim), so
    that they inline the module's loops."""
    parts = ["fit_one = make_generic_loop(eval_model)"]
    names = ["_generic_rows"]
    if fused:
        parts.append("fit_gauss = make_fused_loop(user_normal)")
        names.append("_gauss_rows")
    for name in names:
        parts.append(textwrap.dedent(inspect.getsource(getattr(_lm, name).py_func)))
    return "\n\n".join(parts)


def _fused_normal_source(npar: int) -> str:
    """``user_normal``: cost, J^T W J and J^T W r of a symbolic model in one pass over the
    points (no stored f or J), the signature of `_kernels.gauss_normal` (off, unit_w and e
    unused)."""
    pairs = [(i, j) for i in range(npar) for j in range(i + 1)]
    ps = ", ".join(f"p{j}" for j in range(npar))
    L = []
    for unit in (False, True):
        # a real call, not inlined: numba's inlining is on its IR, so the caller's flags
        # would apply and the fastmath reassociation that lets the reductions vectorize
        # would be lost (as `_kernels.gauss_sums`); unit: every weight is 1
        L.append('@njit(cache=True, fastmath={"reassoc", "contract"})')
        L.append(f"def user_sums{'_unit' if unit else ''}(x, y, w, {ps}):")
        L.append("    cost = 0.0")
        for j in range(npar):
            L.append(f"    g{j} = 0.0")
        for i, j in pairs:
            L.append(f"    a{i}_{j} = 0.0")
        L.append("    for k in range(x.size):")
        L.append(f"        v = _fj(x[k], {ps})")
        # weighted: points of weight 0 add nothing; wr = w r and wd = w d enter the sums
        if unit:
            L.append("        r = y[k] - v[0]")
            wr, wd, use = "r", "d", ""
        else:
            L.append("        wk = w[k]")
            L.append("        use = wk != 0.0")
            L.append("        r = y[k] - v[0] if use else 0.0")
            L.append("        wr = wk * r")
            wr, wd, use = "wr", "wd", " if use else 0.0"
        L.append(f"        cost += {wr} * r")
        L += [f"        d{j} = v[{j + 1}]{use}" for j in range(npar)]
        L += [f"        g{j} += {wr} * d{j}" for j in range(npar)]
        if not unit:
            L += [f"        wd{j} = wk * d{j}" for j in range(npar)]
        L += [f"        a{i}_{j} += {wd}{i} * d{j}" for i, j in pairs]
        outs = ["cost"] + [f"g{j}" for j in range(npar)] + [f"a{i}_{j}" for i, j in pairs]
        L.append("    return (" + ", ".join(outs) + ",)")
        L.append("")
        L.append("")
    pp = ", ".join(f"p[{j}]" for j in range(npar))
    L.append('@njit(cache=True, inline="always")')
    L.append("def user_normal(off, x, y, w, unit_w, p, e, A, g):")
    L.append("    if unit_w:")
    L.append(f"        S = user_sums_unit(x, y, w, {pp})")
    L.append("    else:")
    L.append(f"        S = user_sums(x, y, w, {pp})")
    L.append("    cost = S[0]")
    L.append("    if not math.isfinite(cost):")
    L.append("        cost = np.inf")
    L.append("    tot = 0.0")
    for j in range(npar):
        L.append(f"    g[{j}] = S[{1 + j}]")
        L.append(f"    tot += abs(S[{1 + j}])")
    for n, (i, j) in enumerate(pairs):
        L.append(f"    A[{i}, {j}] = S[{1 + npar + n}]")
        if i != j:
            L.append(f"    A[{j}, {i}] = S[{1 + npar + n}]")
        L.append(f"    tot += abs(S[{1 + npar + n}])")
    L.append("    return cost, math.isfinite(tot)")
    return "\n".join(L) + "\n"


def _module_source(key: str, npar: int, fj_src: str | None, kind: str) -> str:
    pcall = ", ".join(f"p[{j}]" for j in range(npar))
    if kind == "symbolic":
        point = '@njit(cache=True, inline="always")\n' + fj_src
        evaluate = f"""\
        v = _fj(x[k], {pcall})
        f[k] = v[0]
        if want_jac:
{chr(10).join(f"            J[{j}, k] = v[{j + 1}]" for j in range(npar))}"""
    elif kind == "derivatives":
        point = f"_f = _REGISTRY[{key!r}][0]\n_d = _REGISTRY[{key!r}][1:]\n" + "\n".join(
            f"_d{j} = _d[{j}]" for j in range(npar)
        )
        evaluate = f"""\
        f[k] = _f(x[k], {pcall})
        if want_jac:
{chr(10).join(f"            J[{j}, k] = _d{j}(x[k], {pcall})" for j in range(npar))}"""
    else:  # numeric: central differences of the compiled user function
        point = f"_f = _REGISTRY[{key!r}][0]"
        evaluate = f"""\
        f[k] = _f(x[k], {pcall})"""
    numeric_jac = ""
    if kind == "numeric":
        numeric_jac = f"""
    if want_jac:
        q = np.empty({npar})
        for j in range({npar}):
            q[j] = p[j]
        for j in range({npar}):
            h = FD_STEP * max(abs(p[j]), FD_STEP)
            q[j] = p[j] + h
            hp = q[j] - p[j]
            for k in range(x.size):
                J[j, k] = _f(x[k], {", ".join(f"q[{i}]" for i in range(npar))})
            q[j] = p[j] - h
            hm = p[j] - q[j]
            for k in range(x.size):
                J[j, k] = (J[j, k] - _f(x[k], {", ".join(f"q[{i}]" for i in range(npar))})) / (hp + hm)
            q[j] = p[j]
"""
    fused = kind == "symbolic"
    fused_src = _fused_normal_source(npar) if fused else ""
    if fused:
        rows = """
    if opts.loss == LSQ and not opts.accel:
        wunit = unit_rows(w)
        for b in RANGE((n + BLOCK - 1) // BLOCK):
            _gauss_rows(b * BLOCK, min(n, (b + 1) * BLOCK), False, x, y, w, wunit, p, bnd,
                        todo, opts, out)
        return"""
    else:
        rows = ""
    return f'''"""Generated by polase.fitting.usermodel (key {key}); do not edit."""
import math

import numpy as np
from numba import njit, prange

from polase.fitting._kernels import _exp_neg
from polase.fitting._lm import *  # noqa: F403 (the LM loop factories and primitives)
from polase.fitting._lm import BLOCK, _row
from polase.fitting.usermodel import _REGISTRY  # noqa: F401

FD_STEP = {np.finfo(float).eps ** (1 / 3)!r}


@njit(cache=True, inline="always")
def _vexp(t):
    """exp(t) by the built-in kernels' vectorizable exp, branch-free (its reduction and
    exponent construction hold for -t down to -1400; within ~1 ulp of libm over the whole
    range, overflow to inf, NaN kept)."""
    u = t if not (t > 1000.0) else 1000.0
    return _exp_neg(-u)


{point}

{fused_src}


@njit(cache=True)
def eval_model(code, aux, x, p, f, J, want_jac):
    for k in range(x.size):
{evaluate}
{numeric_jac}

@njit(cache=True, parallel=True)
def eval_batch(x, p, want_jac):
    n = p.shape[0]
    m = x.shape[1]
    f = np.empty((n, m))
    J = np.zeros((n, {npar}, m) if want_jac else (1, {npar}, 1))
    aux = np.zeros(1)
    for i in prange(n):
        xi = x[i] if x.shape[0] > 1 else x[0]
        eval_model(0, aux, xi, p[i], f[i], J[i] if want_jac else J[0], want_jac)
    return f, J


{_loop_source(fused)}


{_drivers_source(rows)}'''


def _drivers_source(rows: str) -> str:
    """``fit_serial`` and ``fit_parallel`` (prange over the blocks of fits) of the generated
    module; `rows` is the fused least-squares shortcut (``RANGE`` for the loop) or ""."""
    parts = []
    for name, flags, loop in (("serial", "", "range"), ("parallel", ", parallel=True", "prange")):
        parts.append(f"""@njit(cache=True{flags})
def fit_{name}(x, y, w, p, bnd, todo, opts, out):
    n = y.shape[0]
    aux = np.zeros(1){rows.replace("RANGE", loop)}
    for b in {loop}((n + BLOCK - 1) // BLOCK):
        _generic_rows(b * BLOCK, min(n, (b + 1) * BLOCK), 0, aux, x, y, w, p, bnd, todo, opts,
                      out)
""")
    return "\n\n".join(parts)


def _numba_error_line(exc: Exception, func: Callable) -> str:
    """'file, line N: source' of the user's function from a numba error message."""
    msg = str(exc)
    code = func.__code__
    hits = re.findall(r'File "([^"]+)", line (\d+)', msg)
    for path, line in hits:
        if os.path.abspath(path) == os.path.abspath(code.co_filename):
            ln = int(line)
            try:
                import linecache

                text = linecache.getline(path, ln).strip()
            except Exception:
                text = ""
            return f"{path}, line {ln}: {text}"
    return f"{code.co_filename}, line {code.co_firstlineno} (function {func.__name__!r})"


def _jit_user(func: Callable, nargs: int, what: str):
    """numba-compile a user scalar function for float64 arguments; FitError names the line."""
    import numba
    from numba.core import errors as nerr

    jf = numba.njit(cache=False)(func)
    try:
        jf.compile((numba.float64,) * nargs)
    except (nerr.TypingError, nerr.UnsupportedError, nerr.NumbaError) as exc:
        where = _numba_error_line(exc, func)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FitError(
            f"numba cannot compile {what} {func.__name__!r} at {where} ({first}); use math/numpy "
            "scalar functions and arithmetic, or pass a vectorised f(x, params) instead"
        ) from None
    return jf


def _load(key: str, src: str) -> types.ModuleType:
    if key in _MODULES:
        return _MODULES[key]
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"polase_model_{key}.py"
    if not path.exists() or path.read_text() != src:
        # atomic: concurrent processes see a whole file, and a failed write leaves none
        write_text_atomic(path, src, overwrite=True)
    name = f"polase_model_{key}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    _MODULES[key] = mod
    return mod


def compile_model(
    func: Callable,
    derivatives: Sequence[Callable] | None = None,
    *,
    param_names: Sequence[str] | None = None,
    name: str | None = None,
    jacobian: str = "auto",
):
    """Compile a scalar model ``func(x, p1, ..., pP) -> float`` into the fused LM kernel.

    Parameters
    ----------
    func
        The model at one point: x [units of x] and the P parameters, a float result
        [units of y]. Written with ``math`` or ``numpy`` functions on scalars.
    derivatives
        Optional P functions with the same signature giving d func / d p_j.
    param_names
        Names of the parameters (default: func's argument names after x).
    name
        Label in results (default: func's name).
    jacobian
        "auto": symbolic (sympy) when func can be traced, else "numeric". "symbolic":
        require the sympy derivative. "numeric": compiled central differences.
        Ignored when `derivatives` are given.

    Returns
    -------
    Model
        A compiled model for `curve_fit_batch` (and ``model(x, params)`` evaluation).

    Raises
    ------
    FitError
        func has no positional (x, p1, ...) signature, numba rejects it (the message names
        the file and line), the derivative count is wrong, or "symbolic" was asked for a
        function sympy cannot trace.
    """
    from .models import Model

    if not callable(func):
        raise FitError(f"model must be callable, got {type(func).__name__}")
    memo = (
        func,
        None if derivatives is None else tuple(derivatives),
        None if param_names is None else tuple(param_names),
        name,
        jacobian,
    )
    try:
        if memo in _MODELS:
            return _MODELS[memo]
    except TypeError:  # unhashable derivatives or names
        memo = None
    args = _arg_names(func)
    npar = len(args) - 1
    names = list(param_names) if param_names is not None else args[1:]
    if len(names) != npar:
        raise FitError(f"{len(names)} param_names for a model with {npar} parameters")
    if jacobian not in ("auto", "symbolic", "numeric"):
        raise FitError(f"jacobian must be 'auto', 'symbolic' or 'numeric', got {jacobian!r}")
    src = _source(func)
    fj_src = None
    funcs: tuple = ()
    if derivatives is not None:
        derivatives = list(derivatives)
        if len(derivatives) != npar:
            raise FitError(
                f"{len(derivatives)} derivatives given for {npar} parameters {names} of "
                f"{func.__name__!r}"
            )
        kind = "derivatives"
        funcs = (
            _jit_user(func, npar + 1, "model"),
            *(_jit_user(d, npar + 1, f"derivative {j + 1}") for j, d in enumerate(derivatives)),
        )
        src += "".join(_source(d) for d in derivatives)
    else:
        traced = _trace(func, args) if jacobian != "numeric" else None
        if traced is not None:
            fj_src = _codegen(*traced)
        if fj_src is not None:
            kind = "symbolic"
        elif jacobian == "symbolic":
            raise FitError(
                f"sympy cannot differentiate model {func.__name__!r} (branches on values or "
                "calls it does not know); use jacobian='numeric' or give derivatives"
            )
        else:
            kind = "numeric"
        # numba must accept the user's function in every case: its error names the line
        funcs = (_jit_user(func, npar + 1, "model"),)
    key = hashlib.sha256(
        "\0".join([_GENERATOR_VERSION, _engine_hash(), kind, src, fj_src or "", str(npar)]).encode()
    ).hexdigest()[:20]
    _REGISTRY[key] = funcs
    mod = _load(key, _module_source(key, npar, fj_src, kind))
    mdl = Model(code=-1, param_names=names, name=name or func.__name__)
    mdl.kernels = (mod.fit_serial, mod.fit_parallel, mod.eval_batch)
    mdl.jacobian_kind = kind
    mdl.scalar_func = func
    mdl.recipe = (
        func,
        derivatives,
        {"param_names": param_names, "name": name, "jacobian": jacobian},
    )
    if memo is not None:
        _MODELS[memo] = mdl
    return mdl

"""Batches of fits on dask.distributed give the serial results (2-worker local cluster)."""

from __future__ import annotations

import numpy as np
import pytest

from polase.fitting import curve_fit_batch, get_model, guess
from polase.parallel import map_batches

distributed = pytest.importorskip("distributed")

X = np.linspace(-5.0, 5.0, 100)


@pytest.fixture(scope="module")
def local_cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as lc:
        yield lc


def _square_sum(batch, power=2):
    return float(np.sum(np.asarray(batch) ** power))


def test_map_batches_order_and_kwargs(local_cluster):
    batches = [np.arange(k) for k in range(1, 9)]
    serial = map_batches(_square_sum, batches, power=3)
    assert serial == [_square_sum(b, 3) for b in batches]
    with distributed.Client(local_cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        remote = map_batches(_square_sum, batches, client=client, power=3)
    assert remote == serial
    by_address = map_batches(_square_sum, batches, scheduler=local_cluster.scheduler_address)
    assert by_address == [_square_sum(b) for b in batches]


def _fail(batch):
    raise ValueError(f"bad batch {batch}")


def test_map_batches_reraises_task_errors(local_cluster):
    with pytest.raises(ValueError, match="bad batch 3"):
        map_batches(_fail, [3], scheduler=local_cluster.scheduler_address)


def test_curve_fit_batch_on_cluster_equals_serial(rng, local_cluster):
    n = 300
    truth = np.column_stack(
        [
            rng.uniform(4, 8, n),
            rng.uniform(-1, 1, n),
            rng.uniform(0.5, 1.5, n),
            rng.uniform(0, 1, n),
        ]
    )
    y = get_model("gaussian_offset")(X, truth) + 0.2 * rng.normal(size=(n, X.size))
    p0 = guess("gaussian_offset", X, y)
    w = rng.uniform(0.5, 2.0, (n, X.size))  # per-fit arrays are split with the fits
    kw = {"weights": w, "bounds": ([0, -3, 0.1, -5], [20, 3, 5, 5])}
    serial = curve_fit_batch("gaussian_offset", X, y, p0, **kw)
    remote = curve_fit_batch(
        "gaussian_offset", X, y, p0, scheduler=local_cluster.scheduler_address, **kw
    )
    for name in ("params", "stderr", "cov", "cost", "status", "n_iter", "nfree"):
        np.testing.assert_array_equal(getattr(remote, name), getattr(serial, name), err_msg=name)
    assert remote.param_names == serial.param_names

    # a Python callable model, explicit parts
    def f(x, p):
        return p[:, [0]] * np.exp(-0.5 * ((x - p[:, [1]]) / p[:, [2]]) ** 2) + p[:, [3]]

    a = curve_fit_batch(f, X, y[:40], p0[:40])
    with distributed.Client(local_cluster) as client:
        b = curve_fit_batch(f, X, y[:40], p0[:40], client=client, chunk_size=7)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.status, b.status)


def _hump(x, a, c):
    return a / (1.0 + (x - c) ** 2)


def test_compiled_user_model_survives_pickling():
    """Worker processes receive a `compile_model` model as its recipe and rebuild it."""
    cloudpickle = pytest.importorskip("cloudpickle")
    from polase.fitting import compile_model

    m = compile_model(_hump)
    m2 = cloudpickle.loads(cloudpickle.dumps(m))
    assert m2.kernels is not None and m2.jacobian_kind == m.jacobian_kind
    y = _hump(X, 3.0, 0.5)[None, :] * np.ones((2, 1))
    a = curve_fit_batch(m, X, y, [1.0, 0.0])
    b = curve_fit_batch(m2, X, y, [1.0, 0.0])
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_allclose(a.params, [[3.0, 0.5]] * 2, rtol=1e-10)

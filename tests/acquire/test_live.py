"""The live view: Delta_ASE so far, the JSON endpoint, and the page in headless Chromium."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request

import numpy as np
import pytest

from polase.acquire import run_simulated
from polase.acquire.live import LiveServer, LiveView
from polase.acquire.manifest import read_acquisition_manifest
from polase.analysis.delta import delta_contrast
from polase.io import read_oceanoptics


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    from polase.acquire import AcquisitionProtocol

    from .conftest import SMALL

    folder = tmp_path_factory.mktemp("live") / "run"
    view = LiveView()
    run_simulated(AcquisitionProtocol(**SMALL), folder, seed=4, on_step=view.on_step)
    view.finished = True
    return view, folder


def test_live_delta_is_the_delta_of_the_files(watched):
    view, folder = watched
    rows = read_acquisition_manifest(folder / "manifest.csv")
    darks = {}
    band: dict = {}
    for r in rows:
        if r["kind"] not in ("dark", "spectrum"):
            continue
        sf = read_oceanoptics(folder / r["file"])
        t = float(r["integration_time_s"])
        if r["kind"] == "dark":
            darks[t] = last = np.asarray(sf.counts)
            continue
        wl = np.asarray(sf.wavelength_nm)
        sel = (wl >= 542.0) & (wl <= 544.0)
        rate = (np.asarray(sf.counts) - darks.get(t, last)) / t
        band.setdefault(float(r["fluence_mJ_cm2"]), {}).setdefault(r["polarization"], []).append(
            (int(r["acquisition_index"]), rate[sel].mean())
        )
    live = {d["fluence_mJ_cm2"]: d for d in view.deltas()}
    assert sorted(live) == sorted(band)
    for f, by_pol in band.items():
        ref, oth = by_pol["linear"], by_pol["circular"]
        res = delta_contrast(
            [[v for _, v in ref]],
            [[v for _, v in oth]],
            [[a for a, _ in ref]],
            [[a for a, _ in oth]],
        )
        assert live[f]["delta"] == pytest.approx(float(res["delta"][0]), rel=1e-9)
        assert live[f]["n"] == 2
    assert abs(live[8.0]["delta"]) < 0.03  # below threshold: no contrast
    assert live[17.0]["delta"] > 0.05  # above: circular pumping gives more ASE


def test_json_endpoint_on_loopback(watched):
    view, _ = watched
    with LiveServer(view) as server:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url + "data.json", timeout=10) as resp:
            data = json.loads(resp.read())
        with urllib.request.urlopen(server.url, timeout=10) as resp:
            page = resp.read().decode()
    assert data["done"] == data["total"] == 15 and data["finished"]
    assert data["latest"]["file"].startswith("spectra/17p00mJ_circular_01")
    assert len(data["latest"]["wavelength_nm"]) == len(data["latest"]["counts_per_s"])
    assert [d["fluence_mJ_cm2"] for d in data["delta_ase"]] == [8.0, 15.0, 17.0]
    assert "data.json" in page and "<canvas" in page


@pytest.mark.browser
def test_live_page_in_headless_chromium(watched, tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        pytest.skip(
            "headless chromium/chromedriver not found; run `bash scripts/install_browser.sh`"
        )
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=900,1200",
    ):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    view, _ = watched
    with LiveServer(view) as server:
        driver = webdriver.Chrome(service=Service(chromedriver), options=opts)
        try:
            driver.set_page_load_timeout(60)
            driver.get(server.url)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if driver.execute_script("return document.body.dataset.done") == "15":
                    break
                time.sleep(0.2)
            status = driver.find_element("id", "status").text
            assert status.startswith("finished: 15 / 15 acquisitions"), status
            assert "17p00mJ_circular_01" in driver.find_element("id", "latest-label").text
            for canvas in ("spectrum", "delta"):
                painted = driver.execute_script(
                    "const c = document.getElementById(arguments[0]);"
                    "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                    "let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n;",
                    canvas,
                )
                assert painted > 1000, f"{canvas} canvas is blank"
            errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
            assert errors == [], errors
            assert driver.save_screenshot(str(tmp_path / "live.png"))
        finally:
            driver.quit()

"""report.html in a real headless browser (Debian's chromium driven by selenium).

Install the browser with ``bash scripts/install_browser.sh``; without chromium and
chromedriver (or selenium) this test skips and says why.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from polase.report import build_report

pytestmark = pytest.mark.browser

#: Where screenshots go besides tmp_path, so CI can keep them (set POLASE_TEST_ARTIFACTS).
ARTIFACTS = os.environ.get("POLASE_TEST_ARTIFACTS")


def _driver(profile: Path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        pytest.skip(
            "headless chromium/chromedriver not found; run `bash scripts/install_browser.sh` "
            "(apt-get install chromium chromium-driver) to enable the browser test"
        )
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,2400",
    ):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(chromedriver), options=opts)


def test_report_loads_cleanly_in_headless_chromium(
    tmp_path, synth_ds, synth_results, synth_decays, synth_polarization, synth_phasors
):
    report = build_report(
        synth_results,
        synth_ds,
        synth_decays,
        spin_relaxation_ns=8.0,
        svg=False,
        polarization=synth_polarization,
        phasors=synth_phasors,
    )
    page = tmp_path / "report.html"
    page.write_text(report.html, encoding="utf-8")
    driver = _driver(tmp_path / "profile")
    try:
        driver.set_page_load_timeout(60)
        driver.get(page.as_uri())
        assert driver.title.startswith("polase report")
        state = driver.execute_script("return document.readyState")
        assert state == "complete"
        errors = [e for e in driver.get_log("browser") if e.get("level") in ("SEVERE", "ERROR")]
        assert errors == [], f"console errors: {errors}"
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.closest('figure').id, i.complete, i.naturalWidth, i.naturalHeight])"
        )
        assert len(images) == len(report.figures) == 9
        for fig_id, complete, w, h in images:
            assert complete and w > 0 and h > 0, f"image {fig_id} did not decode ({w}x{h})"
        rows = driver.execute_script(
            "return Array.from(document.querySelectorAll('#summary-table tbody tr')).map(r => r.cells[0].textContent)"
        )
        assert rows == [r["observable"] for r in report.rows]
        shot = tmp_path / "report.png"
        assert driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
        if ARTIFACTS:
            dest = Path(ARTIFACTS)
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, dest / "report_screenshot.png")
    finally:
        driver.quit()

"""Live view for the person at the bench: a rich progress bar and a local web page.

`LiveView` collects what the runner reports (`StepEvent`): the latest spectrum (dark
subtracted with the latest dark of the same integration time, or else the latest dark,
in counts/s) and, per
fluence, the ASE-band intensity of every spectrum, from which Delta_ASE so far is
computed the way the analysis does it (`polase.analysis.delta.delta_contrast`: each
circular spectrum against the linear ones interpolated to its acquisition index). This
is the one module of `polase.acquire` that imports `polase.analysis`.

`LiveServer` serves it on ``http://127.0.0.1:PORT/``: ``/`` is a self-contained page
(no external scripts; two canvas plots redrawn every second) and ``/data.json`` the
current numbers. Only the loopback interface is bound.
"""

from __future__ import annotations

import http.server
import json
import math
import threading
import time
from typing import Any

import numpy as np

from .runner import StepEvent


class LiveView:
    """Accumulates the run for display; pass `on_step` to the runner.

    Parameters
    ----------
    band_nm
        Wavelength window of the ASE-band intensity. [nm]
    reference, other
        Polarization labels of the contrast other / reference - 1.
    """

    def __init__(
        self,
        band_nm: tuple[float, float] = (542.0, 544.0),
        reference: str = "linear",
        other: str = "circular",
    ):
        self.band_nm = band_nm
        self.reference = reference
        self.other = other
        self._lock = threading.Lock()
        self._darks: dict[float, np.ndarray] = {}
        self._last_dark: np.ndarray | float = 0.0
        self._band: dict[float, dict[str, list[tuple[int, float]]]] = {}
        self._latest: dict[str, Any] | None = None
        self.done = 0
        self.total = 0
        self.started = time.monotonic()
        self._first: tuple[float, int] | None = None  # (time, done) at the first step seen
        self.last_row: dict[str, Any] | None = None
        self.finished = False

    def on_step(self, event: StepEvent) -> None:
        """Runner callback."""
        with self._lock:
            if self._first is None:
                self._first = (time.monotonic(), event.done - 1)
            self.done, self.total, self.last_row = event.done, event.total, event.row
            s = event.spectrum
            if s is None:
                return
            t = float(s.integration_time_s)
            if event.row["kind"] == "dark":
                self._darks[t] = self._last_dark = np.asarray(s.counts, dtype=float)
                return
            # the dark of this integration time, else the latest one (the offset dominates
            # a FLAME's dark; the runner takes a dark right after a new time is first used)
            dark = self._darks.get(t, self._last_dark)
            y = np.asarray(s.counts, dtype=float) - dark
            rate = y / t
            wl = np.asarray(s.wavelength_nm, dtype=float)
            sel = (wl >= self.band_nm[0]) & (wl <= self.band_nm[1])
            f = float(event.row["fluence_mJ_cm2"])
            pol = str(event.row["polarization"])
            band = float(rate[sel].mean()) if sel.any() else math.nan
            self._band.setdefault(f, {}).setdefault(pol, []).append(
                (int(event.row["acquisition_index"]), band)
            )
            step = max(1, wl.size // 512)
            self._latest = {
                "wavelength_nm": [round(float(x), 3) for x in wl[::step]],
                "counts_per_s": [float(f"{x:.5g}") for x in rate[::step]],
                "fluence_mJ_cm2": f,
                "polarization": pol,
                "repeat": event.row.get("repeat"),
                "integration_time_s": t,
                "file": event.row["file"],
            }

    def deltas(self) -> list[dict[str, Any]]:
        """Delta_ASE so far per fluence: ``fluence_mJ_cm2``, ``delta``, ``ci95``, ``n``."""
        from ..analysis.delta import delta_contrast

        out = []
        for f in sorted(self._band):
            ref = self._band[f].get(self.reference, [])
            oth = self._band[f].get(self.other, [])
            if not ref or not oth:
                continue
            a_ref = np.array([[a for a, _ in ref]], dtype=float)
            a_oth = np.array([[a for a, _ in oth]], dtype=float)
            i_ref = np.array([[v for _, v in ref]])
            i_oth = np.array([[v for _, v in oth]])
            with np.errstate(all="ignore"):
                res = delta_contrast(i_ref, i_oth, a_ref, a_oth)
            d = float(res["delta"][0])
            ci = [float(x) for x in res["ci95"][0]]
            out.append(
                {
                    "fluence_mJ_cm2": f,
                    "delta": d if math.isfinite(d) else None,
                    "ci95": ci if all(math.isfinite(x) for x in ci) else None,
                    "n": len(oth),
                }
            )
        return out

    def snapshot(self) -> dict[str, Any]:
        """Everything the page shows (JSON-serializable)."""
        with self._lock:
            now = time.monotonic()
            elapsed = now - self.started
            left = None
            if self._first is not None and self.done > self._first[1]:
                # the pace of this session (a resumed run starts part-way)
                pace = (now - self._first[0]) / (self.done - self._first[1])
                left = pace * (self.total - self.done)
            return {
                "done": self.done,
                "total": self.total,
                "elapsed_s": round(elapsed, 1),
                "left_s": None if left is None else round(left, 1),
                "finished": self.finished,
                "last_file": None if self.last_row is None else self.last_row["file"],
                "latest": self._latest,
                "delta_ase": self.deltas(),
            }


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>polase acquire: live</title><link rel="icon" href="data:,">
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
canvas{border:1px solid #ccc;margin:.5em 0;display:block}
#status{font-size:1.1em} .bar{height:10px;background:#eee;width:720px}
.bar div{height:10px;background:#2b7bb9;width:0}
</style></head><body>
<h1>polase acquire</h1>
<p id="status">waiting for the first step…</p>
<div class="bar"><div id="bar"></div></div>
<h2>Latest spectrum</h2><p id="latest-label">–</p>
<canvas id="spectrum" width="720" height="300"></canvas>
<h2>Δ<sub>ASE</sub> so far (circular / linear − 1 at the ASE band)</h2>
<canvas id="delta" width="720" height="300"></canvas>
<script>
"use strict";
function axes(ctx, w, h, xr, yr, xl, yl) {
  ctx.clearRect(0, 0, w, h); ctx.strokeStyle = "#888"; ctx.fillStyle = "#444";
  ctx.font = "12px sans-serif"; ctx.strokeRect(50, 10, w - 60, h - 50);
  ctx.fillText(xl, w / 2 - 40, h - 8); ctx.save(); ctx.translate(12, h / 2 + 40);
  ctx.rotate(-Math.PI / 2); ctx.fillText(yl, 0, 0); ctx.restore();
  for (let i = 0; i <= 4; i++) {
    const xv = xr[0] + (xr[1] - xr[0]) * i / 4, yv = yr[0] + (yr[1] - yr[0]) * i / 4;
    ctx.fillText(xv.toPrecision(3), 40 + (w - 60) * i / 4, h - 24);
    ctx.fillText(yv.toPrecision(2), 2, h - 40 - (h - 50) * i / 4 + 4);
  }
  return [x => 50 + (x - xr[0]) / (xr[1] - xr[0]) * (w - 60),
          y => h - 40 - (y - yr[0]) / (yr[1] - yr[0]) * (h - 50)];
}
function range(v) {
  let lo = Math.min(...v), hi = Math.max(...v);
  if (!(hi > lo)) { lo -= 1; hi += 1; }
  return [lo, hi];
}
function draw(d) {
  const pct = d.total ? 100 * d.done / d.total : 0;
  document.getElementById("bar").style.width = (7.2 * pct) + "px";
  const left = d.left_s === null ? "–" : Math.round(d.left_s) + " s";
  document.getElementById("status").textContent = (d.finished ? "finished: " : "") +
    d.done + " / " + d.total + " acquisitions, " + Math.round(d.elapsed_s) +
    " s elapsed, about " + left + " left";
  const sp = document.getElementById("spectrum"), c1 = sp.getContext("2d");
  if (d.latest) {
    const L = d.latest;
    document.getElementById("latest-label").textContent = L.file + " (" + L.fluence_mJ_cm2 +
      " mJ/cm², " + L.polarization + ", " + L.integration_time_s + " s)";
    const [X, Y] = axes(c1, sp.width, sp.height, range(L.wavelength_nm),
      range(L.counts_per_s), "wavelength [nm]", "counts/s");
    c1.strokeStyle = "#2b7bb9"; c1.beginPath();
    L.wavelength_nm.forEach((x, i) => { const px = X(x), py = Y(L.counts_per_s[i]);
      i ? c1.lineTo(px, py) : c1.moveTo(px, py); });
    c1.stroke();
  }
  const dc = document.getElementById("delta"), c2 = dc.getContext("2d");
  const pts = d.delta_ase.filter(p => p.delta !== null);
  if (pts.length) {
    const ys = pts.flatMap(p => p.ci95 ? [100 * p.ci95[0], 100 * p.ci95[1]] : [100 * p.delta]);
    const [X, Y] = axes(c2, dc.width, dc.height, range(pts.map(p => p.fluence_mJ_cm2)),
      range(ys.concat([0])), "fluence [mJ/cm²]", "Δ_ASE [%]");
    c2.fillStyle = "#c0392b"; c2.strokeStyle = "#c0392b";
    pts.forEach(p => { const px = X(p.fluence_mJ_cm2);
      if (p.ci95) { c2.beginPath(); c2.moveTo(px, Y(100 * p.ci95[0]));
        c2.lineTo(px, Y(100 * p.ci95[1])); c2.stroke(); }
      c2.beginPath(); c2.arc(px, Y(100 * p.delta), 3, 0, 2 * Math.PI); c2.fill(); });
  }
  document.body.dataset.done = String(d.done);
}
async function poll() {
  try { const r = await fetch("data.json", {cache: "no-store"}); draw(await r.json()); }
  catch (e) { document.getElementById("status").textContent = "run not reachable"; }
  setTimeout(poll, 1000);
}
poll();
</script></body></html>
"""


class LiveServer:
    """Serve a `LiveView` on 127.0.0.1 in a background thread.

    Parameters
    ----------
    view
        What to show.
    port
        TCP port (0: any free one; see `url`).
    """

    def __init__(self, view: LiveView, port: int = 0):
        self.view = view

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?", 1)[0]
                if path in ("/", "/index.html"):
                    body, ctype = PAGE.encode("utf-8"), "text/html; charset=utf-8"
                elif path == "/data.json":
                    body = json.dumps(view.snapshot(), allow_nan=False).encode("utf-8")
                    ctype = "application/json"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The page's address."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def close(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

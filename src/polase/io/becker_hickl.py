"""Becker & Hickl SPC ``.sdt`` files, on `sdtfile`.

`sdtfile` (C. Gohlke) parses the file header, the info and setup blocks, the measurement
description blocks (``MeasureInfo``) and the data blocks. Each data block is one detector
(routing) channel; an image block (FLIM) is summed over its pixels into one decay. The time
axis is ``tac_r / (tac_g * adc_re)`` per channel (TAC range, TAC gain, ADC resolution); the
sync rate comes from the measurement's stop information (``StopInfo.min/max_sync_rate``),
recorded by SPCM when the measurement ended; where it is 0 (not recorded) the repetition
period is left None, never defaulted.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import InputFileError
from ._optional import import_lifetime_extra
from .records import DecayFile, MetaValue


def _sdtfile():
    return import_lifetime_extra("sdtfile", "reading Becker & Hickl SDT files")


def _record_meta(rec, prefix: str, out: dict[str, MetaValue]) -> None:
    for name in rec.dtype.names or ():
        v = rec[name]
        key = f"{prefix}{name}"
        if getattr(v, "dtype", None) is not None and v.dtype.names:
            _record_meta(v, key + ".", out)
        elif isinstance(v, bytes | np.bytes_):
            out[key] = v.rstrip(b"\0").decode("latin-1", errors="replace")
        elif np.ndim(v) == 0 and isinstance(v, int | float | np.integer | np.floating):
            out[key] = float(v)


def read_sdt(path: str | Path, *, channel: int | None = None) -> list[DecayFile]:
    """Read the decay blocks of a Becker & Hickl SDT file.

    Parameters
    ----------
    path
        The ``.sdt`` file.
    channel
        Keep only this data block (0-based; one block per routing channel / module);
        default all blocks.

    Returns
    -------
    list of DecayFile
        One per data block: ``format`` ``"sdt"``, channel width ``tac_r / (tac_g adc_re)``
        [ns], ``repetition_period_ns`` from the recorded sync rate (None when the file has
        none) [ns], ``acquisition_time_s`` = ``col_t`` [s], ``count_rate_hz`` = counts /
        ``col_t`` [1/s], the measurement description as metadata (``MeasureInfo.*``) plus the
        file info lines.

    Raises
    ------
    InputFileError
        Not an SDT file (header checksum, info block), a data block shorter than its
        header says (truncated), a TAC gain or range of 0, data not a whole number of
        ``adc_re`` channels, or a `channel` that is not a block.
    """
    sdtfile = _sdtfile()
    p = Path(path)
    try:
        f = sdtfile.SdtFile(p)
    except Exception as exc:  # sdtfile raises ValueError, AssertionError, ... on bad files
        if "reshape" in str(exc):
            raise InputFileError(
                p,
                f"truncated or inconsistent: a data block holds fewer values than its "
                f"measurement description announces ({exc})",
            ) from None
        raise InputFileError(p, f"not a readable Becker & Hickl SDT file: {exc}") from None
    out: list[DecayFile] = []
    with f:
        info_meta: dict[str, MetaValue] = {}
        for line in str(f.info).splitlines()[1:-1]:
            if ":" in line:
                k, v = line.split(":", 1)
                info_meta[f"info.{k.strip()}"] = v.strip()
        for b, (bh, data) in enumerate(zip(f.block_headers, f.data)):
            mi = f.block_measure_info(b)
            bt = sdtfile.sdtfile.BlockType(int(bh.block_type))
            expected = int(bh.block_length) // bt.dtype.itemsize
            if data.size != expected:
                raise InputFileError(
                    p,
                    f"truncated: data block {b} holds {data.size} of the {expected} values "
                    "its header announces",
                )
            adc = int(mi.adc_re) or 65536
            tac_r, tac_g = float(mi.tac_r), int(mi.tac_g)
            if not (tac_g > 0 and math.isfinite(tac_r) and tac_r > 0):
                raise InputFileError(
                    p, f"block {b}: TAC range {tac_r!r} s and gain {tac_g!r} must be > 0"
                )
            if data.size % adc:
                raise InputFileError(
                    p,
                    f"header disagrees with the data: block {b} has {data.size} values, not a "
                    f"multiple of the ADC resolution {adc}",
                )
            counts = np.asarray(data, dtype=np.float64).reshape(-1, adc).sum(axis=0)
            width_ns = tac_r / (tac_g * adc) * 1e9
            meta: dict[str, MetaValue] = dict(info_meta)
            _record_meta(mi, "MeasureInfo.", meta)
            stop = mi.StopInfo if "StopInfo" in (mi.dtype.names or ()) else None
            period_ns = None
            if stop is not None:
                lo, hi = float(stop.min_sync_rate), float(stop.max_sync_rate)
                if lo > 0 and hi > 0:
                    if abs(hi - lo) > 0.01 * hi:
                        raise InputFileError(
                            p,
                            f"block {b}: the sync rate varied from {lo:g} to {hi:g} Hz during "
                            "the measurement (> 1 %); the repetition period is undefined",
                        )
                    period_ns = 2e9 / (lo + hi)
            col_t = float(mi.col_t)
            acq_s = col_t if math.isfinite(col_t) and col_t > 0 else None
            out.append(
                DecayFile(
                    time_ns=(np.arange(adc) + 0.5) * width_ns,
                    counts=counts,
                    channel_width_ns=width_ns,
                    metadata=meta,
                    format="sdt",
                    path=p,
                    detector_channel=b,
                    repetition_period_ns=period_ns,
                    acquisition_time_s=acq_s,
                    count_rate_hz=float(counts.sum() / acq_s) if acq_s else None,
                )
            )
    if not out:
        raise InputFileError(p, "the file holds no data blocks")
    if channel is not None:
        if not 0 <= channel < len(out):
            raise InputFileError(p, f"no data block {channel}; the file has {len(out)}")
        return [out[channel]]
    return out

"""Pump polarization labels: normalize what people write in manifests and file names."""

from __future__ import annotations

import math
import re

_LINEAR = {"linear", "lin", "l"}
_CIRCULAR = {"circular", "circ", "c"}
_ANGLE = re.compile(r"^(?:qwp[_ ]?)?([-+]?\d+(?:[.,p]\d+)?)\s*(?:deg|°)?$", re.IGNORECASE)


def normalize_polarization(label: object) -> tuple[str, float, float]:
    """Map a polarization label to (label, qwp_angle, docp) as in docs/data-model.md.

    Parameters
    ----------
    label
        ``"linear"``/``"lin"``/``"L"`` (quarter-wave plate at 0 deg),
        ``"circular"``/``"circ"``/``"C"`` (45 deg), or a plate angle as a number or text
        (``22.5``, ``"22.5deg"``, ``"qwp_22.5deg"``, ``"22p5"``). [deg]

    Returns
    -------
    label : str
        ``"linear"``, ``"circular"`` or ``"qwp_<angle>deg"`` (0 -> linear, 45 -> circular).
    qwp_angle : float
        Plate fast-axis angle to the polarizer axis. [deg]
    docp : float
        Degree of circular polarization of an ideal plate, sin(2 theta). [1]

    Raises
    ------
    ValueError
        Anything else, with the allowed forms.
    """
    if isinstance(label, bool):
        raise ValueError(f"polarization {label!r}: not a label or a plate angle")
    if isinstance(label, int | float):
        angle = float(label)
    else:
        s = str(label).strip()
        low = s.lower()
        if low in _LINEAR:
            return "linear", 0.0, 0.0
        if low in _CIRCULAR:
            return "circular", 45.0, 1.0
        m = _ANGLE.match(s)
        if not m:
            raise ValueError(
                f"polarization {label!r} not understood; use linear/lin/L, circular/circ/C, or a "
                "quarter-wave-plate angle in degrees such as 22.5 or 'qwp_22.5deg'"
            )
        angle = float(m.group(1).replace(",", ".").replace("p", "."))
    if not math.isfinite(angle):
        raise ValueError(f"polarization angle {label!r} is not finite")
    if angle == 0.0:
        return "linear", 0.0, 0.0
    if angle == 45.0:
        return "circular", 45.0, 1.0
    docp = math.sin(math.radians(2.0 * angle))
    return f"qwp_{angle:g}deg", angle, docp

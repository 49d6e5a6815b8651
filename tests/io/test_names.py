"""io names pair as read_<format> / write_<format>; the old names still work and warn."""

from __future__ import annotations

import numpy as np
import pytest

import polase.io as pio


def test_readers_and_writers_pair():
    for fmt in ("das6", "oceanoptics", "netcdf", "manifest"):
        assert callable(getattr(pio, f"read_{fmt}")) and callable(getattr(pio, f"write_{fmt}"))
    # every current writer has its reader
    writers = [n for n in pio.__all__ if n.startswith("write_") and n not in pio.DEPRECATED_NAMES]
    assert all("read_" + n[len("write_") :] in pio.__all__ for n in writers)


@pytest.mark.parametrize("old", sorted(pio.DEPRECATED_NAMES))
def test_old_names_wrap_the_new_function(old):
    new = getattr(pio, pio.DEPRECATED_NAMES[old])
    alias = getattr(pio, old)
    assert alias is not new and alias.__wrapped__ is new
    assert old in pio.__all__ and pio.DEPRECATED_NAMES[old] in pio.__all__


def test_read_tcspc_alias_reads_what_write_das6_wrote(tmp_path):
    path = tmp_path / "d.txt"
    pio.write_das6(path, [1, 5, 3], 0.05)
    with pytest.warns(DeprecationWarning, match="use read_das6"):
        old = pio.read_tcspc(path)
    new = pio.read_das6(path)
    np.testing.assert_array_equal(old.counts, new.counts)
    assert old.channel_width_ns == new.channel_width_ns

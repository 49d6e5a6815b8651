"""Print the README's summary table from a `polase reproduce` folder's summary.json.

    .venv/bin/python scripts/readme_summary.py polase-reproduce

The rows between ``<!-- summary:start -->`` and ``<!-- summary:end -->`` of README.md are
this output for `bash dev.sh run` (seed 353, 5 repeats); the text around them is written by
hand from the same numbers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from polase.report.summary import markdown_table


def main(folder: str) -> None:
    summary = json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
    print(
        f"Output of `bash dev.sh run` (seed {summary['seed']}, {summary['repeats']} repeats),"
        " from `polase-reproduce/summary.json`:\n"
    )
    print(markdown_table(summary["rows"]))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "polase-reproduce")

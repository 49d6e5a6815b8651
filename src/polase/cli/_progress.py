"""The progress display of every `polase` command: rich, on stderr, off with ``-q/--quiet``.

One builder (`_display`) makes the rich Progress of all of them, so that the commands agree
on where progress goes (stderr: stdout carries only results) and how ``--quiet`` silences it.
The three shapes a command needs:

- `Counter`: one bar counting steps (acquisitions, fluences); before the total is known it
  pulses;
- `Stages`: one bar per pipeline stage, kept on screen when done (`polase reproduce`);
- `Status`: a spinner and a line of text saying what runs now, gone when done.

Each is a context manager around the command's work; its ``update`` is the callback the
library's ``progress=`` argument takes.
"""

from __future__ import annotations

from typing import Any


def stderr_console(quiet: bool = False):
    """The rich Console of progress and messages: stderr (silent where ``quiet``)."""
    from rich.console import Console

    return Console(stderr=True, quiet=quiet)


def _display(console, columns, *, quiet: bool, transient: bool):
    """The rich Progress of every command: ``columns`` on ``console``, none at all where
    ``quiet``; ``transient`` ones are wiped when done."""
    from rich.progress import Progress

    return Progress(
        *columns,
        console=console if console is not None else stderr_console(),
        disable=quiet,
        transient=transient,
    )


class _Display:
    """A rich Progress shown while the ``with`` block runs."""

    def __init__(self, progress):
        self.progress = progress

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)


class Counter(_Display):
    """One bar: ``label``, the bar, done/total, [detail], elapsed time [, time left].

    Parameters
    ----------
    label
        Fixed text before the bar (rich markup).
    unit
        Shown as ``done/total unit``; without it, rich's aligned ``done/total``.
    detail
        Show a text column that each `update` may set (e.g. the last file written).
    remaining
        Show ``left`` and the estimated time remaining.
    total
        Steps in all, if known before the first `update`.
    """

    def __init__(
        self,
        label: str,
        *,
        quiet: bool,
        console=None,
        unit: str | None = None,
        detail: bool = False,
        remaining: bool = False,
        transient: bool = False,
        total: int | None = None,
    ):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        count = TextColumn(f"{{task.completed}}/{{task.total}} {unit}") if unit else None
        columns = [TextColumn(label), BarColumn(), count or MofNCompleteColumn()]
        if detail:
            columns.append(TextColumn("{task.fields[detail]}"))
        columns.append(TimeElapsedColumn())
        if remaining:
            columns += [TextColumn("left"), TimeRemainingColumn()]
        super().__init__(_display(console, columns, quiet=quiet, transient=transient))
        self.task = self.progress.add_task(label, total=total, detail="")

    def update(self, done: int, total: int | None = None, detail: str | None = None) -> None:
        """``done`` steps of ``total`` (unchanged where None); ``detail``: the detail text."""
        fields = {} if detail is None else {"detail": detail}
        self.progress.update(self.task, completed=done, total=total, **fields)


class Stages(_Display):
    """One bar per stage (spinner, stage name, bar, percent, elapsed time), kept on screen.

    `update` (``stage``, ``fraction``) is the pipeline's progress callback: a new stage
    completes every earlier one, and a run that ends without error completes them all.
    """

    def __init__(self, *, quiet: bool, console=None):
        from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn

        columns = (
            SpinnerColumn(),
            TextColumn("{task.description:<16}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
        )
        super().__init__(_display(console, columns, quiet=quiet, transient=False))
        self.tasks: dict[str, Any] = {}

    def _complete_all(self) -> None:
        for tid in self.tasks.values():
            self.progress.update(tid, completed=1.0)

    def __exit__(self, *exc):
        if exc[0] is None:
            self._complete_all()
        return super().__exit__(*exc)

    def update(self, stage: str, fraction: float) -> None:
        """``stage`` is ``fraction`` (0 to 1) done."""
        if stage not in self.tasks:
            self._complete_all()
            self.tasks[stage] = self.progress.add_task(stage, total=1.0)
        self.progress.update(self.tasks[stage], completed=max(0.0, min(1.0, fraction)))


class Status(_Display):
    """A spinner and one line of text (rich markup) saying what runs now; wiped when done."""

    def __init__(self, text: str, *, quiet: bool, console=None):
        from rich.progress import SpinnerColumn, TextColumn

        columns = (SpinnerColumn(), TextColumn("{task.description}"))
        super().__init__(_display(console, columns, quiet=quiet, transient=True))
        self.task = self.progress.add_task(text, total=None)

    def update(self, text: str) -> None:
        """Say ``text`` instead."""
        self.progress.update(self.task, description=text)


__all__ = ["Counter", "Stages", "Status", "stderr_console"]

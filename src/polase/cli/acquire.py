"""`polase acquire`: run an acquisition protocol on the simulated or the real bench."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import PolaseError
from ._options import INPUT_FILE, output_option, quiet_option
from ._progress import Counter, stderr_console


@click.command("acquire")
@click.argument("protocol_path", metavar="PROTOCOL", type=INPUT_FILE)
@output_option(
    "Run folder (raw files, manifest.csv, provenance.json, log.jsonl).", required=True, folder=True
)
@click.option("--simulated", is_flag=True, help="Use the digital twin's simulated devices.")
@click.option(
    "--devices",
    "devices_path",
    type=INPUT_FILE,
    help="Devices TOML of the real bench (see docs/acquisition.md).",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run in the folder.")
@click.option("--seed", type=int, help="Seed of the orders and simulated noise [default: 0].")
@click.option(
    "--time-scale", type=float, help="Factor on simulated device times (default: the protocol's)."
)
@click.option("--live", is_flag=True, help="Serve a live plot on http://127.0.0.1:PORT/.")
@click.option("--port", type=int, default=8353, show_default=True, help="Port of --live.")
@quiet_option("No progress bar.")
def acquire_cmd(
    protocol_path, output, simulated, devices_path, resume, seed, time_scale, live, port, quiet
):
    """Run the acquisition PROTOCOL (TOML) into the folder -o.

    The folder is what `polase analyze FOLDER --manifest FOLDER/manifest.csv` reads.
    An interrupted run (Ctrl-C, device error, power loss) continues with --resume.
    """
    from ..acquire import read_protocol, run_protocol, run_simulated
    from ..acquire.live import LiveServer, LiveView

    console = stderr_console()
    try:
        if simulated == (devices_path is not None):
            raise click.UsageError("give exactly one of --simulated and --devices DEVICES.toml")
        protocol = read_protocol(protocol_path)
        if seed is None:
            seed = 0
            prov = output / "provenance.json"
            if resume and prov.is_file():
                try:
                    seed = int(json.loads(prov.read_text(encoding="utf-8"))["seed"])
                except (KeyError, ValueError, TypeError):
                    pass
        view = LiveView()
        server = LiveServer(view, port) if live else None
        if server is not None:
            console.print(f"live view: {server.url}")
        progress = Counter(
            "[bold]acquire", quiet=quiet, console=console, detail=True, remaining=True
        )

        def on_step(event):
            view.on_step(event)
            progress.update(event.done, event.total, detail=Path(event.row["file"]).name)

        try:
            with progress:
                if simulated:
                    manifest = run_simulated(
                        protocol, output, seed, resume, on_step, time_scale=time_scale
                    )
                else:
                    from ..acquire.bench import open_bench

                    ins = open_bench(devices_path)
                    try:
                        manifest = run_protocol(protocol, output, ins, seed, resume, on_step)
                    finally:
                        ins.close()
            view.finished = True
        finally:
            if server is not None:
                server.close()
    except KeyboardInterrupt:
        console.print(
            f"interrupted; the run is consistent: continue with "
            f"`polase acquire {protocol_path} -o {output} --resume ...`"
        )
        raise SystemExit(130) from None
    except PolaseError as exc:
        hint = ""
        if (output / "manifest.csv").is_file():
            hint = f"\n(continue with `polase acquire {protocol_path} -o {output} --resume ...`)"
        raise click.ClickException(f"{exc}{hint}") from None
    if not quiet:
        console.print(f"wrote {manifest}")

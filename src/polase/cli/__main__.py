"""`python -m polase.cli` runs the `polase` command."""

from . import main

main(prog_name="polase")

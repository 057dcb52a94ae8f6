"""The `pressdispatch` script ([project.scripts]) and ``python -m pressdispatch``.

Start-up makes some 160,000 objects that live as long as the process: the modules of
the command line, of the command and of the libraries they use, their classes and
functions. The collector of cyclic garbage would walk them over and over while they are
made, and again at each collection while the command runs: a third of the CPU of a
`feeds --out` with nothing to write. So it is off from here until the command's module
is loaded; then what was loaded is frozen out of its sight (``gc.freeze``) and it is on
again (cli/__init__.py ``root``) before the command runs.
"""

from __future__ import annotations

import gc


def main() -> None:
    gc.disable()
    from pressdispatch.cli import main as run  # noqa: PLC0415 - after gc.disable, on purpose

    run()


if __name__ == "__main__":
    main()

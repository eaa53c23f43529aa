#!/usr/bin/env python3
"""Assign personas for every consented user (the persona design's one command).

A thin wrapper over the same code as ``spendsense run``: run it from the
repository root as ``python scripts/assign_personas.py [--data-dir DIR]
[--config FILE] [--as-of YYYY-MM-DD]``. When the interpreter lacks the
dependencies it re-runs itself with the project's ``.venv`` (made by ``make setup``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLOBAL_WITH_VALUE = ("--data-dir", "--config")


def split_args(args: list[str]) -> tuple[list[str], list[str]]:
    """Global options go before the ``run`` command, the rest after it."""
    head: list[str] = []
    rest: list[str] = []
    it = iter(args)
    for arg in it:
        if arg in GLOBAL_WITH_VALUE:
            head += [arg, next(it, "")]
        elif arg.startswith(tuple(f"{g}=" for g in GLOBAL_WITH_VALUE)) or arg in (
            "--verbose",
            "-v",
        ):
            head.append(arg)
        else:
            rest.append(arg)
    return head, rest


if __name__ == "__main__":
    try:
        import polars  # noqa: F401
    except ImportError:
        venv_python = ROOT / ".venv" / "bin" / "python"
        if venv_python.exists() and Path(sys.executable).resolve() != venv_python.resolve():
            os.execv(str(venv_python), [str(venv_python), *sys.argv])
        sys.exit("error: dependencies missing: run `make setup` first")
    sys.path.insert(0, str(ROOT / "src"))
    from spendsense.cli import main

    head, rest = split_args(sys.argv[1:])
    main([*head, "run", *rest])

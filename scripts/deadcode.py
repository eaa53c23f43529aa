"""Dead-code check (make lint): vulture over src/ with vulture_whitelist.py, failing on code.

Unused functions, methods, classes, properties and imports fail; unused variables and
attributes are reported by vulture too but are mostly fields a framework reads (pydantic,
dataclasses, TypedDicts), so they are left to review.
"""

from __future__ import annotations

import subprocess
import sys

FAILING = ("unused function", "unused method", "unused class", "unused property", "unused import")


def main() -> int:
    found = subprocess.run(
        [sys.executable, "-m", "vulture"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    dead = [line for line in found if any(kind in line for kind in FAILING)]
    for line in dead:
        print(line)
    if dead:
        print(
            f"{len(dead)} unused definition(s): delete them (or, for a framework hook, add it to "
            "vulture_whitelist.py saying who calls it)"
        )
    return 1 if dead else 0


if __name__ == "__main__":
    sys.exit(main())

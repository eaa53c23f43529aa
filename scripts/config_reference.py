"""Rewrite the settings table in docs/configuration.md from the Settings model (one source)."""

from __future__ import annotations

from pathlib import Path

from spendsense.config import reference_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
BEGIN, END = "<!-- settings:begin -->\n", "<!-- settings:end -->\n"


def main() -> None:
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(head + BEGIN + reference_markdown() + END + tail)


if __name__ == "__main__":
    main()

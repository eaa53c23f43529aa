"""python -m spendsense."""

from spendsense.cli import main

main()

"""`python -m cli` is the `streaming` console script (how supervised children are started)."""

from cli import main

main()

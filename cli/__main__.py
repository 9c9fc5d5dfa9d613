"""`python -m streaming` is the `streaming` console script."""

from streaming.cli import main

main()

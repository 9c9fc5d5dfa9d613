"""Shared vocabulary of the CDN: config model, errors, HLS and HTTP helpers, signing.

A leaf: no module here imports another project package (`tests/test_architecture.py` says so).
The command line that wires the packages into processes is the top-level `cli` package.
"""

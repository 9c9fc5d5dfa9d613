"""Shared vocabulary of the CDN: config model, errors, HLS and HTTP helpers, and the CLI.

Everything in this package except `streaming.cli` (the composition root) is a leaf: it imports
none of `origin`, `edge` or `media`.
"""

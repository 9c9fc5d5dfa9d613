"""CORS for browser players: the shared header logic lives in `streaming.cors`.

The steering service answers for the same distribution and needs the same headers; it may not
import the edge, so the logic moved to the leaf package and the edge keeps this name for it.
"""

from __future__ import annotations

from streaming.cors import Cors

__all__ = ["Cors"]

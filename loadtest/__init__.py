"""`streaming loadtest`: emulated HLS viewers against edges, and a report of what they saw.

The file list is the run's lifecycle: targets (which URLs, loopback only) → credentials (signed
cookies) → client (the only module that touches aiohttp) → player (one viewer: master, rendition,
playlist reloads, segments, buffer) with abr → stats (what each request and session recorded)
→ metrics (edges' and origins' /metrics before and after) → run (viewers, bounds, ramp-up,
worker processes) → report (table, JSON, PNG).
"""

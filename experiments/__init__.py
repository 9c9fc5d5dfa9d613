"""Reproducible failover experiments: fault proxies, emulated viewers, fault timelines, reports.

    scenario.py    the SCENARIO.toml model (topology, viewers, timeline of faults)
    faultproxy.py  a TCP proxy between edges and an origin that injects network faults
    viewers.py     bounded emulated HLS viewers that record every request they make
    observe.py     polls every edge's /healthz for the origin health it reports
    timeline.py    plays the faults at their times against processes and proxies
    report.py      the key figures, JSON and text summary; plot.py draws the PNG timeline
    controls.py    process faults by child name (signals, restarts) and network faults by proxy
    runner.py      a run: its own topology behind fault proxies, or a running demo's processes

This package imports `streaming`, `media` (the generated clip) and `procs` (the processes it
starts); `cli/experiment.py` is the command in front of it.
"""

"""Reproducible failover experiments: fault proxies, emulated viewers, fault timelines, reports.

    scenario.py    the SCENARIO.toml model (topology, viewers, timeline of faults)
    faultproxy.py  a TCP proxy between edges and an origin that injects network faults
    viewers.py     bounded emulated HLS viewers that record every request they make
    observe.py     polls every edge's /healthz for the origin health it reports
    timeline.py    plays the faults at their times against processes and proxies
    report.py      the key figures, JSON and text summary; plot.py draws the PNG timeline

This package imports only `streaming`; `streaming/cli/experiment.py` starts the processes.
"""

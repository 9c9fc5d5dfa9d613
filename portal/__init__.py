"""The demo web portal: library, player with a live delivery overlay, uploads, telemetry, demo controls.

Imports only `streaming`; the CLI (`streaming portal`) wires it into a process.
"""

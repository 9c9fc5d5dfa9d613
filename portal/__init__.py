"""The demo web portal: library, player with live delivery overlay, uploads, telemetry, controls.

Imports only `streaming`; the CLI (`streaming portal`) wires it into a process.
"""

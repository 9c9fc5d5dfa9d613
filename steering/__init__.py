"""Regional steering, the demo's stand-in for DNS/anycast: viewers to the nearest healthy POP.

choose.py   the viewer's region and the POP ranking (pure functions)
monitor.py  active /healthz checks of every POP (up/down with thresholds)
app.py      /steer redirects, /edges, the HLS Content Steering manifest, a steered master
"""

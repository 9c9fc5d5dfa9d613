"""ffmpeg packaging: probe inputs, build ladders and argv (pure), run ffmpeg (the only spawner)."""

// Small time-series line charts on a plain canvas: the last `windowSeconds` of samples, y from 0.

export class LineChart {
  constructor(canvas, { color = '#4aa3ff', windowSeconds = 30, format = (v) => v.toFixed(1), label = null } = {}) {
    this.canvas = canvas;
    this.color = color;
    this.windowSeconds = windowSeconds;
    this.format = format;
    this.label = label; // an element that shows the latest value
    this.points = [];
    this.scheduled = false;
  }

  push(value, t = performance.now() / 1000) {
    if (!Number.isFinite(value)) return;
    this.points.push([t, value]);
    const oldest = t - this.windowSeconds;
    while (this.points.length > 2 && this.points[0][0] < oldest) this.points.shift();
    if (this.label) this.label.textContent = this.format(value);
    if (!this.scheduled) {
      this.scheduled = true;
      requestAnimationFrame(() => { this.scheduled = false; this.draw(); });
    }
  }

  draw() {
    const { canvas, points } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth, height = canvas.clientHeight;
    if (canvas.width !== width * ratio || canvas.height !== height * ratio) {
      canvas.width = width * ratio;
      canvas.height = height * ratio;
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const top = Math.max(...points.map((p) => p[1]), 1e-9) * 1.15;
    const now = points.length ? points[points.length - 1][0] : 0;
    const x = (t) => width - ((now - t) / this.windowSeconds) * width;
    const y = (v) => height - 4 - (v / top) * (height - 14);

    ctx.strokeStyle = '#26313d';
    ctx.fillStyle = '#8a97a6';
    ctx.font = '10px system-ui, sans-serif';
    ctx.lineWidth = 1;
    for (const fraction of [0.5, 1]) {
      const level = top * fraction / 1.15;
      ctx.beginPath();
      ctx.moveTo(0, Math.round(y(level)) + 0.5);
      ctx.lineTo(width, Math.round(y(level)) + 0.5);
      ctx.stroke();
      ctx.fillText(this.format(level), 2, y(level) - 2);
    }
    if (points.length < 2) return;
    ctx.strokeStyle = this.color;
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    points.forEach(([t, v], i) => (i ? ctx.lineTo(x(t), y(v)) : ctx.moveTo(x(t), y(v))));
    ctx.stroke();
    ctx.lineTo(x(now), height);
    ctx.lineTo(x(points[0][0]), height);
    ctx.closePath();
    ctx.globalAlpha = 0.12;
    ctx.fillStyle = this.color;
    ctx.fill();
    ctx.globalAlpha = 1;
  }
}

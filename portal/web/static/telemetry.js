// Player telemetry: events batched into CMCD-style beacons for the portal's collector.

const FLUSH_MS = 4000;

function sessionId() {
  if (self.crypto?.randomUUID) return crypto.randomUUID();
  return Array.from({ length: 4 }, () => Math.random().toString(16).slice(2, 10)).join('-');
}

export class Telemetry {
  /** `cid` content id, `st` stream type ('v' VOD, 'l' live), `pop` the edge serving the session. */
  constructor({ cid, st, pop }) {
    this.sid = sessionId();
    this.cid = cid;
    this.st = st;
    this.pop = pop;
    this.queue = [];
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    addEventListener('pagehide', () => this.flush(true));
  }

  push(event) {
    this.queue.push(event);
    if (this.queue.length >= 50) this.flush();
  }

  /** Events belong to the POP that served them: flush before the player moves to another one. */
  setPop(pop) {
    this.flush();
    this.pop = pop;
  }

  flush(leaving = false) {
    if (!this.queue.length) return;
    const body = JSON.stringify({ sid: this.sid, cid: this.cid, st: this.st, pop: this.pop, events: this.queue });
    this.queue = [];
    if (leaving && navigator.sendBeacon) {
      navigator.sendBeacon('/api/telemetry', new Blob([body], { type: 'application/json' }));
      return;
    }
    fetch('/api/telemetry', { method: 'POST', body, headers: { 'content-type': 'application/json' }, keepalive: true })
      .catch(() => {}); // telemetry never disturbs playback
  }

  stop() {
    clearInterval(this.timer);
    this.flush();
  }
}

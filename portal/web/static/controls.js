// Demo controls: kill, pause and restore the demo's origins and edges, then watch playback carry on.
import { adminToken, el, getJSON } from '/static/api.js';

const REFRESH_MS = 2000;
const BUTTONS = [['kill', 'Kill', 'danger'], ['pause', 'Pause', ''], ['restore', 'Restore', 'primary']];

export class DemoControls {
  constructor(box, { onAction = () => {} } = {}) {
    this.box = box;
    this.onAction = onAction;
    this.busy = new Set();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    this.refresh();
  }

  async refresh() {
    let processes;
    try {
      ({ processes } = await getJSON('/api/demo/processes'));
    } catch (error) {
      this.box.replaceChildren(el('p', { class: 'muted' }, `Demo controls are off: ${error.message}`));
      clearInterval(this.timer);
      return;
    }
    if (!processes.length) {
      this.box.replaceChildren(el('p', { class: 'muted' }, 'The demo has not written its state file yet.'));
      return;
    }
    this.box.replaceChildren(...processes.map((p) => this.row(p)));
  }

  row(process) {
    const allowed = { running: ['kill', 'pause'], paused: ['kill', 'restore'], stopped: ['restore'] }[process.status];
    return el('div', { class: 'proc', dataset: { name: process.name, status: process.status } },
      el('span', {}, `${process.role} ${process.place} `, el('span', { class: 'muted' }, `pid ${process.pid}`)),
      el('span', { class: `state state-${process.status}` }, this.busy.has(process.name) ? '…' : process.status),
      el('span', { class: 'buttons' }, ...BUTTONS.map(([action, label, style]) => el('button', {
        class: style, dataset: { action },
        disabled: !allowed.includes(action) || this.busy.has(process.name),
        onclick: () => this.act(process.name, action),
      }, label))));
  }

  async act(name, action) {
    if (!adminToken.get()) {
      const token = prompt('Admin token (from the distribution config) for the demo controls:');
      if (!token) return;
      adminToken.set(token);
    }
    this.busy.add(name);
    this.refresh();
    try {
      const { status } = await getJSON(`/api/demo/processes/${encodeURIComponent(name)}/${action}`, {
        method: 'POST', headers: adminToken.headers(),
      });
      this.onAction(`${action}: ${name} is now ${status}`);
    } catch (error) {
      if (error.status === 401 || error.status === 403) adminToken.set('');
      this.onAction(`${action} ${name} failed: ${error.message}`);
    } finally {
      this.busy.delete(name);
      this.refresh();
    }
  }
}

// The live delivery overlay: one row per playlist or segment fetched, and the hit ratio per edge.
import { el, fmtBytes } from '/static/api.js';

const MAX_ROWS = 300;

export class DeliveryOverlay {
  constructor(tableBody, ratiosBox, edges) {
    this.tbody = tableBody;
    this.ratiosBox = ratiosBox;
    this.entries = [];
    this.perPop = new Map(edges.map((e) => [e.pop, { hits: 0, total: 0, bytes: 0, hitBytes: 0 }]));
    this.renderRatios();
  }

  /** Record one fetch: {kind, rendition, pop, cache, originRegion, bytes, ms, status, url, requestId}. */
  add(entry) {
    this.entries.push(entry);
    const row = el('tr', { class: 'entry', dataset: { cache: entry.cache, pop: entry.pop || '' } },
      el('td', {}, new Date().toLocaleTimeString([], { hour12: false })),
      el('td', { title: entry.url }, entry.kind),
      el('td', {}, entry.rendition || ''),
      el('td', {}, entry.pop || '?'),
      el('td', { class: `cache ${entry.cache}` }, entry.cache),
      el('td', {}, entry.originRegion || ''),
      el('td', { class: 'num' }, fmtBytes(entry.bytes)),
      el('td', { class: 'num' }, `${Math.round(entry.ms)} ms`),
    );
    this.prepend(row);
    const stats = this.perPop.get(entry.pop);
    if (stats && entry.cache !== 'Error') {
      stats.total += 1;
      stats.bytes += entry.bytes || 0;
      if (entry.cache === 'Hit' || entry.cache === 'RefreshHit') {
        stats.hits += 1;
        stats.hitBytes += entry.bytes || 0;
      }
      this.renderRatios();
    }
  }

  /** A line that is not a fetch: a POP switch, an access denial, a demo control action. */
  note(text) {
    this.prepend(el('tr', { class: 'note' },
      el('td', {}, new Date().toLocaleTimeString([], { hour12: false })), el('td', { colspan: 7 }, text)));
  }

  prepend(row) {
    this.tbody.prepend(row);
    while (this.tbody.children.length > MAX_ROWS) this.tbody.lastElementChild.remove();
  }

  /** What each edge served to every viewer, from its /metrics: [{pop, up, hit_ratio_requests, ...}]. */
  setEdgeStats(stats) {
    this.edgeStats = new Map(stats.map((s) => [s.pop, s]));
    this.renderRatios();
  }

  renderRatios() {
    this.ratiosBox.replaceChildren(...[...this.perPop].map(([pop, s]) => {
      const ratio = s.total ? s.hits / s.total : 0;
      const edge = this.edgeStats?.get(pop);
      const edgeText = !edge ? '' : edge.up
        ? `edge: ${Math.round(edge.hit_ratio_requests * 100)}% req · ${Math.round(edge.hit_ratio_bytes * 100)}% bytes`
        : 'edge down';
      return el('div', { class: 'ratio', dataset: { pop } },
        el('span', {}, pop),
        el('div', { class: 'track', title: 'hit ratio of this player\'s requests' },
          el('div', { class: 'fill', style: `width:${(ratio * 100).toFixed(1)}%` })),
        el('span', { class: 'muted player-ratio' }, s.total ? `${Math.round(ratio * 100)}% of ${s.total}` : 'no requests'),
        el('span', { class: `muted edge-ratio${edge && !edge.up ? ' Error' : ''}`, title: 'all viewers, from the edge\'s /metrics' }, edgeText));
    }));
  }
}

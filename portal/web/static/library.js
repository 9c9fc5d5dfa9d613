// The library: ready videos (with posters) and live channels, each with a deep link per POP.
import { el, getConfig, getJSON, markNav } from '/static/api.js';

const REFRESH_MS = 3000;

function popLinks(edges, query) {
  return el('div', { class: 'pops' }, ...edges.map((e) =>
    el('a', { href: `/player?${query}&pop=${e.pop}`, title: `play through ${e.pop} (${e.region})` }, `▶ ${e.pop}`)));
}

function poster(edge, video) {
  const box = el('div', { class: 'poster' }, '▶');
  if (video.poster_path && video.state === 'ready') {
    // Posters may sit behind signed cookies: show the placeholder when the edge refuses.
    const probe = new Image();
    probe.onload = () => { box.style.backgroundImage = `url("${probe.src}")`; box.textContent = ''; };
    probe.src = edge.url + video.poster_path;
  }
  return box;
}

function videoCard(config, video) {
  const regions = Object.entries(video.regions).map(([r, s]) => `${r}: ${s}`).join(' · ');
  const ready = video.state === 'ready';
  const progress = ready ? '' : ` ${Math.round((video.progress || 0) * 100)}%`;
  return el('div', { class: 'card', dataset: { video: video.id, state: video.state } },
    ready ? el('a', { href: `/player?video=${video.id}&pop=${config.edges[0].pop}` }, poster(config.edges[0], video))
      : poster(config.edges[0], video),
    el('div', { class: 'body' },
      el('div', { class: 'title', title: video.filename }, video.filename || video.id),
      el('div', { class: 'muted' }, `${video.id} · ${video.state}${progress}`),
      el('div', { class: 'muted', title: 'state in each regional origin' }, regions),
      video.error ? el('div', { class: 'Error' }, video.error) : null,
      ready ? popLinks(config.edges, `video=${video.id}`) : null));
}

function liveCard(config, channel) {
  return el('div', { class: 'card', dataset: { live: channel.channel } },
    el('a', { href: `/player?live=${channel.channel}&pop=${config.edges[0].pop}` },
      el('div', { class: 'poster' }, '● LIVE')),
    el('div', { class: 'body' },
      el('div', { class: 'title' }, channel.channel),
      el('div', { class: 'muted' }, channel.path),
      popLinks(config.edges, `live=${channel.channel}`)));
}

let shown = '';

async function refresh(config) {
  const { videos } = await getJSON('/api/library');
  const fingerprint = JSON.stringify(videos);
  if (fingerprint === shown) return; // re-render only on change: posters would flicker otherwise
  shown = fingerprint;
  const ready = videos.filter((v) => v.state === 'ready').length;
  document.getElementById('summary').textContent =
    `${ready} ready, ${videos.length - ready} in progress or failed, from ${config.origins.length} regional origins`;
  document.getElementById('videos').replaceChildren(...videos.map((v) => videoCard(config, v)));
}

async function main() {
  markNav();
  const config = await getConfig();
  const live = document.getElementById('live');
  live.replaceChildren(...config.live.map((c) => liveCard(config, c)));
  if (!config.live.length) live.replaceChildren(el('p', { class: 'muted' }, 'No live channel is configured.'));
  await refresh(config);
  setInterval(() => refresh(config).catch(() => {}), REFRESH_MS);
}

main();

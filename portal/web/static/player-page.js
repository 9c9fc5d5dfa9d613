// The player page: deep links (?video=<id>&pop=<pop> or ?live=<channel>), sign-in, overlay, charts.
import {
  deniedText, edgeAccess, el, fmtRate, getConfig, getJSON, markNav, signedIn, signIn,
} from '/static/api.js';
import { LineChart } from '/static/charts.js';
import { DemoControls } from '/static/controls.js';
import { DeliveryOverlay } from '/static/overlay.js';
import { DeliveryPlayer } from '/static/player.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = {
  denied: false, fatal: null, startupMs: null, rebuffers: 0, access: null,
  latency: null, latencies: [], partRequests: 0, lowLatency: false, // live: seconds behind the wall clock
};
window.portalPlayer = state; // read by the browser tests and handy in the console

function banner(id, text) {
  $(id).textContent = text || '';
  $(id).classList.toggle('show', !!text);
}

/** POPs for a viewer in `region`, best first: the steering service's answer, or the config's. */
function steer(region) {
  return getJSON(`/api/steer${region ? `?region=${encodeURIComponent(region)}` : ''}`);
}

async function defaultStream() {
  const { videos } = await getJSON('/api/library');
  const ready = videos.find((v) => v.state === 'ready');
  if (ready) params.set('video', ready.id);
  return !!ready;
}

function wireCharts(player) {
  const throughput = new LineChart($('c-throughput'), { color: '#4aa3ff', format: (v) => fmtRate(v), label: $('v-throughput') });
  const buffer = new LineChart($('c-buffer'), { color: '#3fb950', format: (v) => `${v.toFixed(1)} s`, label: $('v-buffer') });
  const bitrate = new LineChart($('c-bitrate'), { color: '#d29922', format: (v) => fmtRate(v), label: $('v-bitrate') });
  player.addEventListener('throughput', (e) => throughput.push(e.detail));
  player.addEventListener('sample', (e) => {
    buffer.push(e.detail.buffer);
    bitrate.push(e.detail.bitrate);
    const edge = player.edge;
    const level = player.hls?.levels?.[player.hls.currentLevel];
    $('status').textContent = `via ${edge.pop} (${edge.region})${level?.height ? ` · ${level.height}p` : ''}` +
      ` · est. ${fmtRate(e.detail.estimate)} · t=${$('video').currentTime.toFixed(1)} s`;
    const { latency, parts, lowLatency } = e.detail;
    if (latency !== null) {
      state.latency = latency;
      state.latencies.push(latency);
      state.partRequests = parts;
      state.lowLatency = lowLatency;
      $('live-latency').textContent = `latency ${latency.toFixed(1)} s` +
        (lowLatency ? ` · LL-HLS · ${parts} part requests` : ' · classic HLS');
    }
  });
}

function wirePickers(edges, player, overlay) {
  const regions = [...new Set(edges.map((e) => e.region))];
  $('region').replaceChildren(...regions.map((r) => el('option', { value: r }, r)));
  $('pop').replaceChildren(...edges.map((e) => el('option', { value: e.pop }, `${e.pop} · ${e.region}`)));
  const show = (pop) => {
    $('pop').value = pop;
    $('region').value = edges.find((e) => e.pop === pop).region;
    params.set('pop', pop);
    history.replaceState(null, '', `?${params}`);
  };
  show(player.pop);
  $('pop').addEventListener('change', () => player.setPop($('pop').value));
  $('region').addEventListener('change', async () => {
    const steered = await steer($('region').value);
    player.preference = steered.edges.map((e) => e.pop);
    overlay.note(`${steered.source} chose ${steered.edges[0].pop} for region ${$('region').value}`);
    player.setPop(steered.edges[0].pop);
  });
  player.addEventListener('pop', (e) => show(e.detail));
}

async function main() {
  markNav();
  const config = await getConfig();
  if (!params.get('video') && !params.get('live') && !(await defaultStream())) {
    banner('info', 'Nothing to play yet: upload a video or pick one in the library.');
    $('status').textContent = 'idle';
    return;
  }
  const query = params.get('live') ? `live=${encodeURIComponent(params.get('live'))}` : `video=${encodeURIComponent(params.get('video'))}`;
  const stream = await getJSON(`/api/playback?${query}`).catch((error) => {
    banner('denied', error.message);
    throw error;
  });
  $('title').textContent = stream.kind === 'live' ? `Live: ${stream.cid}` : stream.cid;

  const overlay = new DeliveryOverlay($('log'), $('ratios'), config.edges);
  // A deep link's ?pop= wins; otherwise steering picks the nearest healthy POP for ?region=.
  const chosen = config.edges.find((e) => e.pop === params.get('pop'));
  const steered = await steer(params.get('region'));
  const player = new DeliveryPlayer($('video'), {
    edges: config.edges, pop: chosen ? chosen.pop : steered.edges[0].pop, credentials: stream.private ? 'include' : 'omit',
  });
  player.preference = steered.edges.map((e) => e.pop);
  if (!chosen) overlay.note(`${steered.source} chose ${player.pop} for region ${steered.region || 'unknown'}`);
  window.portalPlayer.player = player;
  player.addEventListener('entry', (e) => overlay.add(e.detail));
  player.addEventListener('note', (e) => overlay.note(e.detail));
  player.addEventListener('startup', (e) => { state.startupMs = e.detail; });
  player.addEventListener('rebuffer', () => { state.rebuffers += 1; });
  player.addEventListener('fatal', (e) => {
    state.fatal = `${e.detail.type}: ${e.detail.details}`;
    banner('denied', `Playback failed: ${state.fatal}`);
  });
  player.addEventListener('denied', (e) => {
    state.denied = true;
    sessionStorage.removeItem(`signed:${stream.cid}`);
    banner('denied', `Access denied: edge ${e.detail.pop} answered 403 Forbidden. ` +
      (stream.private ? 'This stream is private: sign in to get signed cookies.' : ''));
    overlay.note(`403 from ${e.detail.pop}: access denied`);
    if (config.login && stream.private) $('signin').classList.add('show');
  });
  wireCharts(player);
  const refreshEdges = () => getJSON('/api/edges').then(({ edges }) => overlay.setEdgeStats(edges)).catch(() => {});
  refreshEdges();
  setInterval(refreshEdges, 3000);
  wirePickers(config.edges, player, overlay);
  if (config.controls) new DemoControls($('procs'), { onAction: (text) => overlay.note(text) });
  else $('procs').replaceChildren(el('p', { class: 'muted' }, 'Off: the portal was started without the demo state file.'));

  const play = () => {
    banner('denied', '');
    state.denied = false;
    $('signin').classList.remove('show');
    const live = stream.kind === 'live';
    player.load(stream.path, { cid: stream.cid, live, lowLatency: stream.low_latency ?? live });
  };
  $('replay').addEventListener('click', play);
  $('signin-skip').addEventListener('click', (event) => { event.preventDefault(); play(); });
  $('signin-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    $('signin-button').disabled = true;
    try {
      await signIn(config.login, stream, $('signin-name').value);
      overlay.note(`signed in: cookies for ${stream.kind} ${stream.cid}`);
      play();
    } catch (error) {
      $('signin-text').textContent = `Sign-in failed: ${error.message}`;
    } finally {
      $('signin-button').disabled = false;
    }
  });
  const edgeHost = new URL(config.edges[0].url).hostname;
  if (stream.private && location.hostname !== edgeHost) {
    // Cookies belong to a host name: ones set for this page's host never reach the edges.
    banner('info', `Signed cookies are per host name: open this page on ${edgeHost} (the edges' host), ` +
      `e.g. ${location.protocol}//${edgeHost}:${location.port}${location.pathname}${location.search}`);
  }
  // Cookies are HttpOnly and may come from elsewhere (`streaming sign cookies`, another tab, an
  // SDK), so the edge, not sessionStorage, says whether this browser may play before sign-in.
  const access = stream.private ? await edgeAccess(new URL(stream.path, player.edge.url).href) : null;
  state.access = access;
  const refused = access ? access.status === 403 : false;
  const unknown = access ? access.status === 0 : false; // edge unreachable: trust the last sign-in
  if (stream.private && config.login && (refused || (unknown && !signedIn(stream.cid)))) {
    if (refused) {
      sessionStorage.removeItem(`signed:${stream.cid}`);
      $('signin-text').textContent = deniedText(access.reason);
      overlay.note(`edge ${player.pop} refused the cookies: ${access.reason || 'no reason'}`);
    }
    $('signin').classList.add('show');
    $('status').textContent = 'sign in to play';
  } else {
    if (stream.private && !config.login) banner('info', 'This stream is private and the portal has no login endpoint.');
    play();
  }
}

main();

// The DASH page: ?video=<id> or ?live=<channel> (&pop=<pop>) played from its manifest.mpd with
// Shaka Player (served from node_modules like hls.js), with the same sign-in as the HLS player.
import { el, getConfig, getJSON, markNav, signIn } from '/static/api.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
// Read by the browser tests: the manifest URL, Shaka's errors, whether it loaded.
const state = { manifest: null, fatal: null, loaded: false, errors: [] };
window.dashPlayer = state;

function banner(id, text) {
  $(id).textContent = text || '';
  $(id).classList.toggle('show', !!text);
}

/** The stream's directory on the edges: the MPD sits beside the master. */
function manifestPath(stream) {
  return stream.path.replace(/master\.m3u8$/, 'manifest.mpd');
}

async function play(video, url, credentials) {
  const player = new shaka.Player();
  await player.attach(video);
  // Private streams: the edges' signed cookies go with every manifest and segment request.
  player.getNetworkingEngine().registerRequestFilter((_type, request) => {
    request.allowCrossSiteCredentials = credentials;
  });
  player.addEventListener('error', (event) => {
    const { code, category, severity } = event.detail;
    state.errors.push({ code, category, severity });
    if (severity === shaka.util.Error.Severity.CRITICAL) {
      state.fatal = `shaka error ${code} (category ${category})`;
      banner('denied', `Playback failed: ${state.fatal}`);
    }
  });
  try {
    await player.load(url);
    state.loaded = true;
    await video.play().catch(() => {});
  } catch (error) {
    state.fatal = `shaka error ${error.code} (category ${error.category})`;
    banner('denied', `Playback failed: ${state.fatal}`);
  }
  setInterval(() => {
    const track = player.getVariantTracks().find((t) => t.active);
    $('status').textContent = `${track?.height ? `${track.height}p · ` : ''}t=${video.currentTime.toFixed(1)} s` +
      (player.isLive() ? ' · live' : '');
  }, 500);
  return player;
}

async function main() {
  markNav();
  shaka.polyfill.installAll();
  if (!shaka.Player.isBrowserSupported()) {
    banner('denied', 'This browser has no Media Source Extensions: DASH cannot play here.');
    return;
  }
  const config = await getConfig();
  const query = params.get('live') ? `live=${encodeURIComponent(params.get('live'))}`
    : `video=${encodeURIComponent(params.get('video') || '')}`;
  const stream = await getJSON(`/api/playback?${query}`).catch((error) => {
    banner('denied', error.message);
    throw error;
  });
  $('title').textContent = stream.kind === 'live' ? `Live: ${stream.cid}` : stream.cid;
  const edge = config.edges.find((e) => e.pop === params.get('pop')) || config.edges[0];
  $('pop').replaceChildren(...config.edges.map((e) => el('option', { value: e.pop }, `${e.pop} · ${e.region}`)));
  $('pop').value = edge.pop;
  $('pop').addEventListener('change', () => {
    params.set('pop', $('pop').value);
    location.search = `?${params}`;
  });
  state.manifest = new URL(manifestPath(stream), edge.url).href;
  $('manifest').textContent = state.manifest;
  const start = () => play($('video'), state.manifest, stream.private);
  if (stream.private && config.login) {
    $('signin').classList.add('show');
    $('signin-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      $('signin-button').disabled = true;
      try {
        await signIn(config.login, stream, $('signin-name').value);
        $('signin').classList.remove('show');
        start();
      } catch (error) {
        $('signin-text').textContent = `Sign-in failed: ${error.message}`;
      } finally {
        $('signin-button').disabled = false;
      }
    });
  } else {
    start();
  }
}

main();

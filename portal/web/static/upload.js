// The upload page: drag and drop, upload progress (XHR), packaging progress, and playback as soon
// as the first segments exist (the origin publishes EVENT playlists while it packages).
import { adminToken, fmtBytes, getConfig, getJSON, markNav, signIn } from '/static/api.js';
import { DeliveryOverlay } from '/static/overlay.js';
import { DeliveryPlayer } from '/static/player.js';

const POLL_MS = 500;
const $ = (id) => document.getElementById(id);
const state = { id: null, state: null, playing: false, error: null };
window.portalUpload = state; // read by the browser tests

function fail(message) {
  state.error = message;
  $('error').textContent = message;
  $('error').classList.add('show');
}

function bar(id, fraction) {
  $(id).style.width = `${Math.min(100, Math.max(0, fraction * 100)).toFixed(1)}%`;
}

function upload(file) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append('file', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/videos');
    xhr.setRequestHeader('authorization', adminToken.headers().authorization);
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      bar('upload-bar', e.loaded / e.total);
      $('upload-label').textContent = `Upload ${fmtBytes(e.loaded)} of ${fmtBytes(e.total)}`;
    };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON: reported below */ }
      if (xhr.status === 202) resolve(body);
      else reject(new Error(body.detail || `upload answered ${xhr.status}`));
    };
    xhr.onerror = () => reject(new Error('the upload failed: the portal did not answer'));
    xhr.send(form);
  });
}

async function startPlayback(config, video, region) {
  const stream = await getJSON(`/api/playback?video=${video.id}`);
  if (stream.private && config.login) await signIn(config.login, stream, 'uploader');
  // The packaging region has the EVENT playlists first; its POP fetches from it nearest-first.
  const edge = config.edges.find((e) => e.region === region) || config.edges[0];
  const overlay = new DeliveryOverlay($('log'), $('ratios'), config.edges);
  const player = new DeliveryPlayer($('video'), { edges: config.edges, pop: edge.pop, credentials: stream.private ? 'include' : 'omit' });
  player.addEventListener('entry', (e) => overlay.add(e.detail));
  player.addEventListener('note', (e) => overlay.note(e.detail));
  player.addEventListener('denied', () => fail('Access denied by the edge (403).'));
  player.addEventListener('fatal', (e) => fail(`Playback failed: ${e.detail.type}: ${e.detail.details}`));
  player.addEventListener('startup', () => { state.playing = true; });
  player.addEventListener('sample', () => {
    $('status').textContent = `via ${player.pop} · t=${$('video').currentTime.toFixed(1)} s`;
  });
  player.load(stream.path, { cid: video.id });
  $('title').textContent = `${video.filename || video.id}: playing while it packages`;
}

async function follow(config, accepted) {
  let started = false;
  while (true) {
    const video = await getJSON(`/api/videos/${accepted.id}`);
    state.state = video.state;
    bar('package-bar', video.state === 'ready' ? 1 : video.progress || 0);
    $('package-label').textContent = `Packaging: ${video.state} ${Math.round((video.state === 'ready' ? 1 : video.progress || 0) * 100)}%`;
    $('regions').textContent = Object.entries(video.regions).map(([r, s]) => `${r}: ${s}`).join(' · ');
    if (video.state === 'failed') return fail(`Packaging failed: ${video.error}`);
    if (video.playable && !started) {
      started = true;
      startPlayback(config, video, accepted.region).catch((error) => fail(error.message));
    }
    if (video.state === 'ready' && Object.keys(video.regions).length === config.origins.length) return;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function handle(config, file) {
  $('error').classList.remove('show');
  if (!$('token').value.trim()) return fail('Enter the admin token first: uploads need it.');
  adminToken.set($('token').value);
  bar('upload-bar', 0);
  bar('package-bar', 0);
  try {
    const accepted = await upload(file);
    state.id = accepted.id;
    $('upload-label').textContent = `Uploaded ${file.name} to origin ${accepted.region} as ${accepted.id}`;
    await follow(config, accepted);
  } catch (error) {
    fail(error.message);
  }
}

async function main() {
  markNav();
  const config = await getConfig();
  $('token').value = adminToken.get();
  const drop = $('drop');
  drop.addEventListener('click', () => $('file').click());
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') $('file').click(); });
  $('file').addEventListener('change', () => $('file').files[0] && handle(config, $('file').files[0]));
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add('over'); });
  }
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer.files[0];
    if (file) handle(config, file);
  });
}

main();

// Shared helpers for every page: the portal's JSON API, the admin token, tiny DOM and format helpers.

let configPromise = null;

/** The topology the portal serves (edges, origins, live channels, login endpoint). */
export function getConfig() {
  configPromise ??= fetch('/api/config').then((r) => r.json());
  return configPromise;
}

export async function getJSON(url, init = {}) {
  const response = await fetch(url, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.detail || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

export const adminToken = {
  get: () => sessionStorage.getItem('adminToken') || '',
  set: (value) => sessionStorage.setItem('adminToken', value.trim()),
  headers: () => ({ authorization: `Bearer ${sessionStorage.getItem('adminToken') || ''}` }),
};

/** Create an element: el('div', {class: 'x', onclick: f}, 'text', child). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

export function fmtBytes(n) {
  if (!Number.isFinite(n)) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

export function fmtRate(bitsPerSecond) {
  if (!Number.isFinite(bitsPerSecond) || bitsPerSecond <= 0) return '–';
  if (bitsPerSecond < 1e6) return `${(bitsPerSecond / 1e3).toFixed(0)} kbit/s`;
  return `${(bitsPerSecond / 1e6).toFixed(1)} Mbit/s`;
}

/** Mark the current page's link in the header. */
export function markNav() {
  for (const link of document.querySelectorAll('header.top nav a')) {
    if (link.pathname === location.pathname) link.classList.add('active');
  }
}

/** True while an earlier sign-in for this stream has not expired (cookies are HttpOnly). */
export function signedIn(cid) {
  return Number(sessionStorage.getItem(`signed:${cid}`) || 0) > Date.now();
}

/** Ask the portal's login endpoint for signed cookies covering `stream` ({kind, cid}). */
export async function signIn(login, stream, name = 'viewer') {
  const body = { [stream.kind === 'live' ? 'live' : 'video']: stream.cid, name };
  const response = await fetch(login.url, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.detail || `login answered ${response.status}`);
  const expires = answer.expires ? answer.expires * 1000 : Date.now() + 10 * 60 * 1000;
  sessionStorage.setItem(`signed:${stream.cid}`, String(expires));
  return answer;
}

// Why an edge refused a viewer, in the viewer's words (the edge's 403 `reason`).
const DENIED = {
  missing: 'Sign in to play: this browser holds no signed cookies for this stream.',
  expired: 'Your cookies have expired — sign in again.',
  not_yet_valid: 'Your cookies are not valid yet — sign in again.',
  resource_not_covered: 'Your cookies are for another video — sign in to play this one.',
  bad_signature: 'Your cookies are not valid (bad signature) — sign in again.',
  unknown_key: 'Your cookies were signed with a key this distribution does not trust — sign in again.',
  malformed: 'Your cookies are malformed — sign in again.',
  ip_not_allowed: 'Your cookies do not allow this network address — sign in again.',
};

export function deniedText(reason) {
  return DENIED[reason] || `The edge refused playback${reason ? ` (${reason})` : ''} — sign in to play.`;
}

/**
 * Ask the edge whether this browser may play `url` with the cookies it already holds (HttpOnly,
 * so only the edge can tell): {status, reason}. A GET, not a HEAD, because only a body carries
 * the 403's reason; the master playlist is small. status 0 when the edge could not be reached.
 */
export async function edgeAccess(url) {
  try {
    const response = await fetch(url, { credentials: 'include', cache: 'no-store' });
    if (response.ok) return { status: response.status, reason: null };
    const body = await response.json().catch(() => ({}));
    return { status: response.status, reason: body.reason || null };
  } catch {
    return { status: 0, reason: null };
  }
}

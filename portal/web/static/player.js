// The delivery player: hls.js playing through one edge POP, reporting every fetch it makes.
//
// Every request goes through `fetchSetup`, which points it at the current POP, so switching POP
// (by the viewer, or after an edge failure) moves the very next playlist or segment request
// without reloading. Requests bypass the browser cache (`no-store`): the overlay shows what the
// CDN did, not what the browser remembered.
import Hls, { FetchLoader } from '/vendor/hls/hls.mjs';
import { Telemetry } from '/static/telemetry.js';

const SAMPLE_MS = 1000;

function cacheResult(headers) {
  const xCache = headers?.get('x-cache') || '';
  return { cache: xCache.split(' ')[0] || '?', pop: headers?.get('x-edge-location') || xCache.split(' from ')[1] || '' };
}

export class DeliveryPlayer extends EventTarget {
  constructor(video, { edges, pop, credentials }) {
    super();
    this.video = video;
    this.edges = edges;
    this.pop = pop;
    this.credentials = credentials; // 'include' when content is private (signed cookies)
    this.popByOrigin = new Map(edges.map((e) => [new URL(e.url).origin, e.pop]));
    this.hls = null;
    this.telemetry = null;
    this.failedPops = new Set();
  }

  get edge() {
    return this.edges.find((e) => e.pop === this.pop);
  }

  /** Point a URL at the current POP (only URLs on one of the distribution's edges). */
  rewrite(url) {
    const parsed = new URL(url, location.href);
    if (!this.popByOrigin.has(parsed.origin)) return parsed.href;
    const target = new URL(this.edge.url);
    parsed.protocol = target.protocol;
    parsed.host = target.host;
    return parsed.href;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** Start playing `path` (e.g. /hls/<id>/master.m3u8) through the current POP. An LL-HLS channel
   * (the portal's `low_latency`; unknown: any live stream) plays in hls.js's low-latency mode:
   * its playlist's parts (EXT-X-PART) are followed with blocking reloads. */
  load(path, { cid, live = false, lowLatency = live }) {
    this.destroy();
    const lowLatencyMode = live && lowLatency;
    const hls = (this.hls = new Hls({
      lowLatencyMode,
      // LL-HLS: drift back to PART-HOLD-BACK after a stall by playing a little faster.
      maxLiveSyncPlaybackRate: lowLatencyMode ? 1.5 : 1,
      loader: FetchLoader,
      fetchSetup: (context, init) => {
        init.credentials = this.credentials;
        init.cache = 'no-store';
        return new Request(this.rewrite(context.url), init);
      },
      // A short buffer keeps delivery visible: segments arrive as you watch, not all at start.
      maxBufferLength: 6,
      maxMaxBufferLength: 8,
      backBufferLength: 30,
      // Live: regional origins count discontinuities by their own restart history, so a reload
      // served by another region can number them higher; hls.js calls that a fatal "discontinuity
      // sequence mismatch" unless told to take the new numbering (docs/failover.md, Live).
      ignorePlaylistParsingErrors: true,
      fragLoadPolicy: { default: {
        maxTimeToFirstByteMs: 4000, maxLoadTimeMs: 20000,
        timeoutRetry: { maxNumRetry: 4, retryDelayMs: 0, maxRetryDelayMs: 0 },
        errorRetry: { maxNumRetry: 6, retryDelayMs: 500, maxRetryDelayMs: 4000 },
      } },
    }));
    this.telemetry = new Telemetry({ cid, st: live ? 'l' : 'v', pop: this.pop });
    this.live = live;
    this.lowLatency = false; // set once a media playlist lists parts (EXT-X-PART)
    this.partRequests = 0;
    this.notYetPublished = 0;
    this.trackPlayback(hls);
    hls.on(Hls.Events.MANIFEST_LOADED, (_, d) => this.report('master', '', d.url, d.stats, d.networkDetails));
    hls.on(Hls.Events.LEVEL_LOADED, (_, d) => {
      if (d.details?.partList?.length && !this.lowLatency) {
        this.lowLatency = true;
        this.emit('note', `LL-HLS: parts of ${d.details.partTarget} s, blocking reloads`);
      }
      this.report('playlist', this.rendition(d.level), d.details?.url, d.stats, d.networkDetails);
    });
    hls.on(Hls.Events.AUDIO_TRACK_LOADED, (_, d) => this.report('playlist', 'audio', d.details?.url, d.stats, d.networkDetails));
    hls.on(Hls.Events.FRAG_LOADED, (_, d) => {
      const frag = d.frag;
      const kind = d.part ? 'part' : frag.sn === 'initSegment' ? 'init' : 'segment';
      if (d.part) this.partRequests += 1;
      const rendition = frag.type === 'audio' ? 'audio' : this.rendition(frag.level);
      const loaded = d.part || frag;
      const entry = this.report(kind, rendition, loaded.url, loaded.stats, d.networkDetails);
      if (this.awaitingStallRid && frag.type === 'main') {
        this.stallRid = entry.requestId;
        this.awaitingStallRid = false;
      }
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => this.video.play().catch(() => {}));
    hls.on(Hls.Events.ERROR, (_, d) => this.onError(d));
    hls.loadSource(new URL(path, this.edge.url).href);
    hls.attachMedia(this.video);
  }

  rendition(index) {
    const level = this.hls?.levels?.[index];
    if (!level) return '';
    return `${level.height ? `${level.height}p` : `L${index}`} · ${Math.round(level.bitrate / 1000)}k`;
  }

  report(kind, rendition, url, stats, response) {
    const headers = response instanceof Response ? response.headers : null;
    const { cache, pop } = cacheResult(headers);
    const loading = stats?.loading || {};
    const entry = {
      kind, rendition, url,
      pop: pop || this.pop,
      cache: response && !response.ok ? 'Error' : cache,
      status: response?.status ?? 0,
      originRegion: headers?.get('x-origin-region') || '',
      requestId: headers?.get('x-request-id') || null,
      age: headers?.get('age'),
      bytes: stats?.loaded || stats?.total || Number(headers?.get('content-length')) || 0,
      ms: Math.max(0, (loading.end || 0) - (loading.start || 0)),
      firstByteMs: Math.max(0, (loading.first || 0) - (loading.start || 0)),
    };
    if ((kind === 'segment' || kind === 'part') && entry.ms > entry.firstByteMs) {
      this.emit('throughput', (entry.bytes * 8) / ((entry.ms - entry.firstByteMs || entry.ms) / 1000));
    }
    this.emit('entry', entry);
    return entry;
  }

  onError(data) {
    const code = data.response?.code ?? data.networkDetails?.status ?? 0;
    const url = data.url || data.frag?.url || data.context?.url || '';
    this.telemetry?.push({ ev: 'error', type: code === 403 ? 'accessDenied' : (data.type || 'otherError'),
      details: String(data.details || 'unknown').slice(0, 64), fatal: !!data.fatal, code });
    if (data.networkDetails instanceof Response) this.report(data.frag ? 'segment' : 'playlist', '', url, data.stats, data.networkDetails);
    if (code === 403) {
      this.hls.stopLoad();
      this.emit('denied', { url, pop: this.pop });
      return;
    }
    const network = data.type === Hls.ErrorTypes.NETWORK_ERROR;
    const edgeFailed = network && (code === 0 || code >= 500);
    if (edgeFailed && this.edges.length > 1) this.failover(`${data.details} (${code || 'no response'})`);
    if (!data.fatal) return;
    const reload = () => (data.details === Hls.ErrorDetails.MANIFEST_LOAD_ERROR ? this.hls.loadSource(this.hls.url) : this.hls.startLoad());
    if (network && edgeFailed && this.failedPops.size < this.edges.length) {
      reload();
    } else if (network && code === 404 && this.live && this.notYetPublished++ < 15) {
      // A channel that just started has no playlist yet: try again, like a viewer would.
      this.emit('note', `live stream not published yet (404 from ${this.pop}); retrying`);
      setTimeout(() => this.hls && reload(), 2000);
    } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      this.hls.recoverMediaError();
    } else {
      this.emit('fatal', data);
    }
  }

  /** The current edge failed: move to the next POP that has not failed yet. */
  failover(reason) {
    this.failedPops.add(this.pop);
    // Nearest first when steering ranked the POPs for this viewer, config order otherwise.
    const order = (this.preference || []).map((pop) => this.edges.find((e) => e.pop === pop)).filter(Boolean);
    const next = [...order, ...this.edges].find((e) => !this.failedPops.has(e.pop));
    if (!next) return;
    const from = this.pop;
    this.setPop(next.pop);
    this.emit('note', `edge ${from} failed: ${reason}; switched to ${next.pop}`);
  }

  /** Send the next requests through `pop` (the viewer's choice or a failover). */
  setPop(pop) {
    if (pop === this.pop) return;
    this.pop = pop;
    this.failedPops.delete(pop);
    this.telemetry?.setPop(pop);
    this.emit('pop', pop);
  }

  trackPlayback(hls) {
    const video = this.video;
    const started = performance.now();
    let playing = false, stallStart = null, lastLevel = null;
    const onPlaying = () => {
      if (!playing) {
        playing = true;
        this.telemetry.push({ ev: 'startup', ms: Math.round(performance.now() - started) });
        this.emit('startup', performance.now() - started);
      } else if (stallStart !== null) {
        const ms = Math.round(performance.now() - stallStart);
        this.telemetry.push({ ev: 'rebuffer', ms, ...(this.stallRid ? { rid: this.stallRid } : {}) });
        this.emit('rebuffer', ms);
      }
      stallStart = null;
    };
    const onWaiting = () => {
      if (playing && !video.seeking && stallStart === null) {
        stallStart = performance.now();
        this.stallRid = null;
        this.awaitingStallRid = true;
      }
    };
    video.addEventListener('playing', onPlaying);
    video.addEventListener('waiting', onWaiting);
    hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => {
      const level = hls.levels[d.level];
      if (lastLevel !== null && lastLevel !== d.level) {
        this.telemetry.push({ ev: 'switch', br: Math.round(level.bitrate / 1000), from_br: Math.round(hls.levels[lastLevel].bitrate / 1000) });
      }
      lastLevel = d.level;
    });
    const sampler = setInterval(() => {
      const buffered = video.buffered;
      let ahead = 0;
      for (let i = 0; i < buffered.length; i++) {
        if (buffered.start(i) <= video.currentTime + 0.1 && buffered.end(i) > video.currentTime) ahead = buffered.end(i) - video.currentTime;
      }
      const level = hls.levels?.[hls.currentLevel];
      const sample = { buffer: ahead, bitrate: level ? level.bitrate : 0, estimate: hls.bandwidthEstimate || 0,
        latency: this.liveLatency(), parts: this.partRequests, lowLatency: this.lowLatency };
      this.emit('sample', sample);
      this.telemetry.push({ ev: 'sample', bl: Math.round(ahead * 1000), br: Math.round(sample.bitrate / 1000),
        mtp: Math.round(sample.estimate / 1000) });
    }, SAMPLE_MS);
    this.cleanup = () => {
      clearInterval(sampler);
      video.removeEventListener('playing', onPlaying);
      video.removeEventListener('waiting', onWaiting);
    };
  }

  /** Live latency in seconds: the wall clock minus the EXT-X-PROGRAM-DATE-TIME at the playhead
   * (glass to glass when the encoder stamps its capture time); null without a date. */
  liveLatency() {
    const date = this.live ? this.hls?.playingDate : null;
    return date ? (Date.now() - date.getTime()) / 1000 : null;
  }

  destroy() {
    this.cleanup?.();
    this.cleanup = null;
    this.telemetry?.stop();
    this.hls?.destroy();
    this.hls = null;
  }
}

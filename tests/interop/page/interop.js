// SPDX-License-Identifier: Apache-2.0
// The browser side of the interop test: a third-party PeerPipe peer written
// only from shared/spec/signaling.md and tunnel.md §1-2, with the browser's
// own WebRTC stack. The harness (chromium_interop.mjs) calls window.PP.*
// through Playwright; every function returns plain JSON-able data.
'use strict';

(() => {
  const log = (...a) => console.log('[page]', ...a);

  // Deterministic bytes for message number `seed` (xorshift32).
  function pattern(seed, len) {
    const out = new Uint8Array(len);
    let x = (seed * 2654435761 + 0x9e3779b9) >>> 0 || 1;
    for (let i = 0; i < len; i++) {
      x ^= x << 13; x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5; x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  }

  function textPattern(seed, len) {
    const abc = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    const b = pattern(seed, len);
    let s = '';
    const parts = [];
    for (let i = 0; i < len; i++) {
      s += abc[b[i] % abc.length];
      if (s.length >= 4096) { parts.push(s); s = ''; }
    }
    parts.push(s);
    return parts.join('');
  }

  function firstDiff(a, b) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
    return a.length === b.length ? -1 : n;
  }

  function withTimeout(p, ms, what) {
    let t;
    return Promise.race([
      p.finally(() => clearTimeout(t)),
      new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timeout (${ms} ms): ${what}`)), ms); }),
    ]);
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  const S = {
    cert: null,
    fingerprint: null,
    ws: null,
    myId: null,
    remoteId: null,
    pc: null,
    offerer: null,
    pendingIce: [],
    channels: new Map(), // label -> RTCDataChannel
    channelWaiters: [],
    events: [],          // signaling and connection history, for reports
    errors: [],
    localCandidates: [],
    remoteCandidates: [],
    iceServers: [],
    joinedResolve: null,
  };

  function note(what, extra) {
    S.events.push(Object.assign({ t: Math.round(performance.now()), what }, extra || {}));
  }

  function send(obj) {
    S.ws.send(JSON.stringify(obj));
  }

  function sdpFingerprint(sdp) {
    const m = /a=fingerprint:(\S+) (\S+)/.exec(sdp || '');
    return m ? `${m[1].toLowerCase()} ${m[2].toUpperCase()}` : null;
  }

  function sdpSetup(sdp) {
    const m = /a=setup:(\S+)/.exec(sdp || '');
    return m ? m[1] : null;
  }

  function trackChannel(dc, origin) {
    dc.binaryType = 'arraybuffer';
    dc._origin = origin;
    dc._closed = false;
    dc._closedAt = null;
    dc._opened = new Promise((resolve) => {
      if (dc.readyState === 'open') resolve();
      else dc.addEventListener('open', () => resolve(), { once: true });
    });
    dc.addEventListener('close', () => {
      dc._closed = true;
      dc._closedAt = Math.round(performance.now());
      note('channel-close', { label: dc.label, id: dc.id });
    });
    dc.addEventListener('error', (e) => {
      S.errors.push(`channel ${dc.label}: ${e.error ? e.error.message : 'error'}`);
    });
    S.channels.set(dc.label, dc);
    for (const w of S.channelWaiters.splice(0)) w();
  }

  function newPc() {
    const pc = new RTCPeerConnection({ certificates: [S.cert], iceServers: S.iceServers });
    pc.onicecandidate = (e) => {
      const c = e.candidate ? e.candidate.toJSON() : null;
      if (c) S.localCandidates.push(c.candidate);
      if (!S.remoteId) return;
      send({ type: 'SEND_ICE', to: S.remoteId, candidate: c });
    };
    pc.onconnectionstatechange = () => note('connection', { state: pc.connectionState });
    pc.oniceconnectionstatechange = () => note('ice', { state: pc.iceConnectionState });
    pc.ondatachannel = (e) => trackChannel(e.channel, 'remote');
    S.pc = pc;
    return pc;
  }

  async function flushIce() {
    for (const c of S.pendingIce.splice(0)) await addIce(c);
  }

  async function addIce(c) {
    try {
      if (c === null) {
        // end of candidates: the spec's form is an empty candidate string
        await S.pc.addIceCandidate({ candidate: '', sdpMid: '0', sdpMLineIndex: 0 });
      } else {
        S.remoteCandidates.push(c.candidate);
        await S.pc.addIceCandidate(c);
      }
    } catch (e) {
      S.errors.push(`addIceCandidate(${c ? c.candidate : 'end'}): ${e.message}`);
    }
  }

  async function onNewPeer(peer) {
    // existing member: we offer (signaling.md §4)
    if (S.pc) { S.errors.push('NEW_PEER while a session exists'); return; }
    S.remoteId = peer.peer_id;
    S.offerer = true;
    const pc = newPc();
    // the offerer creates its channel before the offer (tunnel.md §3)
    trackChannel(pc.createDataChannel('b-echo', { protocol: 'peerpipe.echo.v1' }), 'local');
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    send({ type: 'SEND_SDP', to: S.remoteId, sdp: { type: 'offer', sdp: pc.localDescription.sdp } });
    note('offer-sent');
  }

  async function onSdp(msg) {
    const d = msg.sdp;
    if (d.type === 'offer') {
      if (S.pc) { S.errors.push('second offer'); return; }
      S.remoteId = msg.from;
      S.offerer = false;
      const pc = newPc();
      await pc.setRemoteDescription(d);
      await flushIce();
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      send({ type: 'SEND_SDP', to: S.remoteId, sdp: { type: 'answer', sdp: pc.localDescription.sdp } });
      note('answer-sent');
    } else {
      await S.pc.setRemoteDescription(d);
      await flushIce();
      note('answer-applied');
    }
  }

  async function onMessage(ev) {
    let msg;
    try { msg = JSON.parse(ev.data); } catch (e) { S.errors.push('signaling: not JSON'); return; }
    note('sig', { type: msg.type });
    try {
      switch (msg.type) {
        case 'JOINED':
          S.myId = msg.peer_id;
          S.iceServers = msg.ice_servers || [];
          if (S.joinedResolve) S.joinedResolve(msg);
          break;
        case 'NEW_PEER':
          await onNewPeer(msg.peer);
          break;
        case 'FORWARD_SDP':
          await onSdp(msg);
          break;
        case 'FORWARD_ICE':
          if (!S.pc || !S.pc.remoteDescription) S.pendingIce.push(msg.candidate);
          else await addIce(msg.candidate);
          break;
        case 'PEER_LEFT':
          note('peer-left', { peer: msg.peer_id });
          break;
        case 'ERROR':
          S.errors.push(`signaling ERROR ${msg.code}: ${msg.message}`);
          break;
        default:
          break; // unknown types are ignored
      }
    } catch (e) {
      S.errors.push(`${msg.type}: ${e.message}`);
    }
  }

  async function statsSummary() {
    const out = { pair: null, local: null, remote: null, transport: null, certificates: {} };
    if (!S.pc) return out;
    const stats = await S.pc.getStats();
    const byId = new Map();
    stats.forEach((s) => byId.set(s.id, s));
    stats.forEach((s) => {
      if (s.type === 'transport') out.transport = s;
    });
    let pair = out.transport && out.transport.selectedCandidatePairId
      ? byId.get(out.transport.selectedCandidatePairId) : null;
    if (!pair) stats.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
    if (pair) {
      out.pair = { state: pair.state, nominated: pair.nominated, bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived, rtt: pair.currentRoundTripTime };
      const l = byId.get(pair.localCandidateId);
      const r = byId.get(pair.remoteCandidateId);
      if (l) out.local = { type: l.candidateType, address: l.address, port: l.port, protocol: l.protocol };
      if (r) out.remote = { type: r.candidateType, address: r.address, port: r.port, protocol: r.protocol };
    }
    if (out.transport) {
      const t = out.transport;
      for (const k of ['localCertificateId', 'remoteCertificateId']) {
        const c = t[k] ? byId.get(t[k]) : null;
        if (c) out.certificates[k] = `${c.fingerprintAlgorithm} ${c.fingerprint.toUpperCase()}`;
      }
      out.transport = { dtlsState: t.dtlsState, dtlsRole: t.dtlsRole, iceRole: t.iceRole, iceState: t.iceState, tlsVersion: t.tlsVersion, dtlsCipher: t.dtlsCipher, srtpCipher: t.srtpCipher };
    }
    return out;
  }

  async function waitChannel(label, ms) {
    await withTimeout((async () => {
      while (!S.channels.has(label)) await new Promise((r) => S.channelWaiters.push(r));
    })(), ms, `channel ${label}`);
    const dc = S.channels.get(label);
    await withTimeout(dc._opened, ms, `channel ${label} open`);
    return dc;
  }

  // Messages of one channel in arrival order.
  function receiver(dc) {
    const queue = [];
    let wake = null;
    const onmsg = (e) => { queue.push(e.data); if (wake) { const w = wake; wake = null; w(); } };
    dc.addEventListener('message', onmsg);
    return {
      async next(ms) {
        if (!queue.length) {
          await withTimeout(new Promise((r) => { wake = r; }), ms, `echo on ${dc.label}`);
        }
        return queue.shift();
      },
      pending: () => queue.length,
      stop: () => dc.removeEventListener('message', onmsg),
    };
  }

  window.PP = {
    async init() {
      S.cert = await RTCPeerConnection.generateCertificate({ name: 'ECDSA', namedCurve: 'P-256' });
      const fps = S.cert.getFingerprints();
      const f = fps.find((x) => x.algorithm === 'sha-256');
      S.fingerprint = `sha-256 ${f.value.toUpperCase()}`;
      return { fingerprint: S.fingerprint, userAgent: navigator.userAgent };
    },

    async join({ url, room, token, timeoutMs }) {
      const joined = new Promise((resolve) => { S.joinedResolve = resolve; });
      const ws = new WebSocket(url, 'peerpipe.v1');
      S.ws = ws;
      ws.onmessage = (ev) => onMessage(ev);
      ws.onclose = (e) => note('ws-close', { code: e.code, reason: e.reason });
      await withTimeout(new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error('WebSocket error'));
      }), timeoutMs, 'WebSocket open');
      send({ type: 'JOIN_ROOM', room, token, fingerprint: S.fingerprint });
      const msg = await withTimeout(joined, timeoutMs, 'JOINED');
      return { peer_id: msg.peer_id, peers: msg.peers.length, protocol: ws.protocol };
    },

    // Connected, with the offerer's channel open; returns what getStats and
    // the descriptions say about the session.
    async waitConnected({ timeoutMs }) {
      await withTimeout((async () => {
        while (!S.pc || S.pc.connectionState !== 'connected') {
          if (S.pc && S.pc.connectionState === 'failed') throw new Error('connectionState failed');
          await sleep(50);
        }
      })(), timeoutMs, 'connectionState connected');
      if (S.offerer) await withTimeout(S.channels.get('b-echo')._opened, timeoutMs, 'b-echo open');
      const st = await statsSummary();
      return {
        offerer: S.offerer,
        localSetup: sdpSetup(S.pc.localDescription.sdp),
        remoteSetup: sdpSetup(S.pc.remoteDescription.sdp),
        remoteSdpFingerprint: sdpFingerprint(S.pc.remoteDescription.sdp),
        localSdpFingerprint: sdpFingerprint(S.pc.localDescription.sdp),
        remoteMaxMessageSize: (/a=max-message-size:(\d+)/.exec(S.pc.remoteDescription.sdp) || [])[1] || null,
        sctpMaxMessageSize: S.pc.sctp ? S.pc.sctp.maxMessageSize : null,
        stats: st,
        localCandidates: S.localCandidates.slice(),
        remoteCandidates: S.remoteCandidates.slice(),
        errors: S.errors.slice(),
      };
    },

    async openChannel({ label, timeoutMs }) {
      const dc = S.pc.createDataChannel(label, { protocol: 'peerpipe.echo.v1' });
      trackChannel(dc, 'local');
      await withTimeout(dc._opened, timeoutMs, `${label} open`);
      return { label: dc.label, id: dc.id, protocol: dc.protocol };
    },

    async waitChannel({ label, timeoutMs }) {
      const dc = await waitChannel(label, timeoutMs);
      return { label: dc.label, id: dc.id, protocol: dc.protocol, origin: dc._origin };
    },

    // One message at a time; each echo must come back with the same kind
    // and the same bytes.
    async echo({ label, sizes, kind, timeoutMs, seedBase }) {
      const dc = await waitChannel(label, timeoutMs);
      const rx = receiver(dc);
      const results = [];
      try {
        for (let i = 0; i < sizes.length; i++) {
          const n = sizes[i];
          const seed = (seedBase || 0) + i;
          const t0 = performance.now();
          const r = { size: n, kind, ok: false };
          if (kind === 'text') {
            const s = textPattern(seed, n);
            dc.send(s);
            const got = await rx.next(timeoutMs);
            r.gotKind = typeof got === 'string' ? 'text' : 'binary';
            r.gotSize = typeof got === 'string' ? new TextEncoder().encode(got).length : got.byteLength;
            r.ok = r.gotKind === 'text' && got === s;
            if (!r.ok && r.gotKind === 'text') r.firstDiff = firstDiff(got, s);
          } else {
            const b = pattern(seed, n);
            dc.send(b);
            const got = await rx.next(timeoutMs);
            r.gotKind = typeof got === 'string' ? 'text' : 'binary';
            r.gotSize = typeof got === 'string' ? got.length : got.byteLength;
            if (r.gotKind === 'binary') {
              const g = new Uint8Array(got);
              r.firstDiff = firstDiff(g, b);
              r.ok = r.firstDiff === -1;
            }
          }
          r.ms = Math.round(performance.now() - t0);
          results.push(r);
          if (!r.ok) break;
        }
      } catch (e) {
        results.push({ error: e.message });
      } finally {
        rx.stop();
      }
      return results;
    },

    // Sends `total` bytes in `chunk`-byte binary messages, waiting for
    // bufferedamountlow whenever bufferedAmount passes `high`; checks every
    // echo byte for byte, in order.
    async bulk({ label, total, chunk, low, high, timeoutMs }) {
      const dc = await waitChannel(label, timeoutMs);
      const n = Math.ceil(total / chunk);
      const res = { messages: n, chunk, low, high, waits: 0, lowEvents: 0, maxBuffered: 0,
                    bufferedAtEvents: [], echoed: 0, bytesEchoed: 0, ok: false };
      let wake = null;
      let expectSeq = 0;
      let mismatch = null;
      let allEchoed;
      const done = new Promise((r) => { allEchoed = r; });
      dc.bufferedAmountLowThreshold = low;
      const onlow = () => {
        res.lowEvents++;
        if (res.bufferedAtEvents.length < 64) res.bufferedAtEvents.push(dc.bufferedAmount);
        if (wake) { const w = wake; wake = null; w(); }
      };
      const onmsg = (e) => {
        const seq = expectSeq++;
        const got = typeof e.data === 'string' ? null : new Uint8Array(e.data);
        if (!mismatch) {
          const want = pattern(100000 + seq, Math.min(chunk, total - seq * chunk));
          const d = got ? firstDiff(got, want) : 0;
          if (!got || d !== -1) mismatch = { seq, at: d, size: got ? got.length : -1 };
        }
        if (got) res.bytesEchoed += got.length;
        res.echoed++;
        if (res.echoed === n) allEchoed();
      };
      dc.addEventListener('bufferedamountlow', onlow);
      dc.addEventListener('message', onmsg);
      const t0 = performance.now();
      try {
        for (let i = 0; i < n; i++) {
          if (dc.bufferedAmount > high) {
            res.waits++;
            await withTimeout(new Promise((r) => { wake = r; }), timeoutMs, 'bufferedamountlow');
            if (dc.bufferedAmount > low) res.lateEvent = dc.bufferedAmount;
          }
          dc.send(pattern(100000 + i, Math.min(chunk, total - i * chunk)));
          res.maxBuffered = Math.max(res.maxBuffered, dc.bufferedAmount);
        }
        res.sendMs = Math.round(performance.now() - t0);
        await withTimeout(done, timeoutMs, `echo of ${n} messages (got ${res.echoed})`);
        res.ms = Math.round(performance.now() - t0);
        res.mbPerS = +((2 * total) / 1e6 / (res.ms / 1000)).toFixed(1);
        res.ok = !mismatch && res.bytesEchoed === total;
      } catch (e) {
        res.error = e.message;
      } finally {
        dc.removeEventListener('bufferedamountlow', onlow);
        dc.removeEventListener('message', onmsg);
      }
      res.mismatch = mismatch;
      return res;
    },

    async closeChannel({ label, timeoutMs }) {
      const dc = S.channels.get(label);
      dc.close();
      await withTimeout((async () => { while (dc.readyState !== 'closed') await sleep(20); })(), timeoutMs, `${label} closed`);
      return { state: dc.readyState };
    },

    // After the C peer went away: what the browser saw, within timeoutMs.
    async waitRemoteGone({ timeoutMs }) {
      const t0 = performance.now();
      const open = () => [...S.channels.values()].filter((d) => d.readyState !== 'closed');
      while (performance.now() - t0 < timeoutMs && open().length) await sleep(50);
      const ms = Math.round(performance.now() - t0);
      // then, for the report only: does the DTLS transport see close_notify?
      const dtls = () => (S.pc && S.pc.sctp ? S.pc.sctp.transport.state : null);
      const t1 = performance.now();
      while (performance.now() - t1 < 3000 && dtls() !== 'closed' && dtls() !== 'failed') await sleep(50);
      return {
        ms,
        dtlsTransportState: dtls(),
        dtlsStateAfterMs: Math.round(performance.now() - t1),
        channelsStillOpen: open().map((d) => d.label),
        channelStates: Object.fromEntries([...S.channels.values()].map((d) => [d.label, d.readyState])),
        connectionState: S.pc ? S.pc.connectionState : null,
        iceConnectionState: S.pc ? S.pc.iceConnectionState : null,
        sctpState: S.pc && S.pc.sctp ? S.pc.sctp.state : null,
      };
    },

    async stats() { return statsSummary(); },

    report() {
      return { events: S.events.slice(-80), errors: S.errors.slice(), localCandidates: S.localCandidates, remoteCandidates: S.remoteCandidates };
    },

    leave() {
      for (const dc of S.channels.values()) try { dc.close(); } catch (e) { /* closed */ }
      if (S.pc) S.pc.close();
      if (S.ws && S.ws.readyState === WebSocket.OPEN) {
        send({ type: 'LEAVE_ROOM' });
        S.ws.close(1000);
      }
      return true;
    },
  };
  log('ready');
})();

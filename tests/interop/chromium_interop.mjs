// SPDX-License-Identifier: Apache-2.0
// Interop of PeerPipe's C WebRTC stack (peerpipe-rtc-echo) with headless
// Debian Chromium, signaled by a real peerpipe-signal. Run by run-interop.sh
// inside a network namespace that has a veth address (Chromium never
// gathers loopback candidates). Prints TAP and "N passed, N failed".
//
// Environment: PP_SIGNAL_BIN, PP_RTC_ECHO_BIN, PP_CLI_BIN (built programs),
// PP_BROWSER_ADDR (the address Chromium gathers on), PP_C_ADDR (the address
// rtc-echo binds ICE to), PP_CHROMIUM (default /usr/bin/chromium),
// PP_INTEROP_TMP (scratch directory), PP_INTEROP_CASES (optional filter:
// comma-separated case names), PP_INTEROP_VERBOSE=1 (echo every event),
// PP_INTEROP_BULK_MIB (default 8), PP_INTEROP_ECHO_LOG (rtc-echo --log-level).
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const env = process.env;
const SIGNAL_BIN = env.PP_SIGNAL_BIN;
const ECHO_BIN = env.PP_RTC_ECHO_BIN;
const CLI_BIN = env.PP_CLI_BIN;
const CHROMIUM = env.PP_CHROMIUM || '/usr/bin/chromium';
const C_ADDR = env.PP_C_ADDR;
const BROWSER_ADDR = env.PP_BROWSER_ADDR;
const TMP = env.PP_INTEROP_TMP || fs.mkdtempSync('/tmp/pp-interop-');
const VERBOSE = env.PP_INTEROP_VERBOSE === '1';
const ONLY = env.PP_INTEROP_CASES ? env.PP_INTEROP_CASES.split(',') : null;
const BULK_MIB = Number(env.PP_INTEROP_BULK_MIB || 8);

const KiB = 1024;
const MiB = 1024 * 1024;
const T = { join: 10000, connect: 20000, echo: 20000, bulk: 45000, close: 10000 };

// ---- TAP -------------------------------------------------------------------

let testNo = 0;
let passed = 0;
let failed = 0;

function diag(text) {
  for (const line of String(text).split('\n')) console.log(`# ${line}`);
}

function ok(cond, desc, detail) {
  testNo++;
  if (cond) passed++;
  else failed++;
  console.log(`${cond ? 'ok' : 'not ok'} ${testNo} - ${desc}`);
  if (detail !== undefined && (!cond || VERBOSE)) diag(typeof detail === 'string' ? detail : JSON.stringify(detail));
  return cond;
}

// ---- child processes ---------------------------------------------------------

const children = new Set();

function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function killAll() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch (e) { /* gone */ }
  }
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { killAll(); process.exit(1); });
}

function writeSecret() {
  const file = path.join(TMP, 'jwt-secret');
  fs.writeFileSync(file, randomBytes(48).toString('base64'), { mode: 0o600 });
  return file;
}

function mintToken(secret, room, role, name) {
  return execFileSync(CLI_BIN, ['token', '--secret-file', secret, '--room', room,
    '--role', role, '--name', name, '--ttl', '10m'], { encoding: 'utf8' }).trim();
}

async function startSignal(secret) {
  const log = fs.openSync(path.join(TMP, 'signal.log'), 'w');
  const child = track(spawn(SIGNAL_BIN, ['--listen', '127.0.0.1:0', '--insecure',
    '--jwt-secret-file', secret], { stdio: ['ignore', 'pipe', log] }));
  const rl = readline.createInterface({ input: child.stdout });
  const url = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('peerpipe-signal did not say where it listens')), 10000);
    rl.on('line', (line) => {
      const m = /listening on (ws:\/\/\S+)/.exec(line);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
    child.on('exit', (code) => reject(new Error(`peerpipe-signal exited (${code})`)));
  });
  return { child, url };
}

// The page over plain HTTP on loopback (a secure context for WebRTC).
async function startPageServer() {
  const files = {
    '/': ['interop.html', 'text/html'],
    '/interop.html': ['interop.html', 'text/html'],
    '/interop.js': ['interop.js', 'text/javascript'],
  };
  const server = createServer((req, res) => {
    const f = files[new URL(req.url, 'http://x').pathname];
    if (req.method !== 'GET' || !f) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': `${f[1]}; charset=utf-8`, 'cache-control': 'no-store' });
    res.end(fs.readFileSync(path.join(HERE, 'page', f[0])));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${server.address().port}/interop.html` };
}

// peerpipe-rtc-echo with its JSON events collected.
class Echo {
  constructor(name, args) {
    this.name = name;
    this.events = [];
    this.waiters = [];
    this.stderrFile = path.join(TMP, `${name}.stderr`);
    const err = fs.openSync(this.stderrFile, 'w');
    this.child = track(spawn(ECHO_BIN, args, { stdio: ['ignore', 'pipe', err] }));
    this.exit = new Promise((resolve) => this.child.on('exit', (code, sig) => resolve({ code, sig })));
    const evFile = fs.openSync(path.join(TMP, `${name}.events.jsonl`), 'w');
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      fs.writeSync(evFile, `${line}\n`);
      let ev;
      try { ev = JSON.parse(line); } catch (e) { ev = { event: 'garbage', line }; }
      this.events.push(ev);
      if (VERBOSE && ev.event !== 'message') diag(`${name}: ${line}`);
      for (const w of this.waiters.slice()) w();
    });
  }

  find(pred) { return this.events.find(pred); }
  all(pred) { return this.events.filter(pred); }

  waitFor(pred, ms, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const ev = this.events.find(pred);
        if (ev) { done(); resolve(ev); return true; }
        return false;
      };
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      const timer = setTimeout(() => { done(); reject(new Error(`${this.name}: timeout waiting for ${what}`)); }, ms);
      if (!check()) this.waiters.push(check);
    });
  }

  stderrTail(n = 40) {
    try {
      const lines = fs.readFileSync(this.stderrFile, 'utf8').trimEnd().split('\n');
      return lines.slice(-n).join('\n');
    } catch (e) { return ''; }
  }
}

// Where a live process is (a stalled peer is worth a backtrace).
function backtrace(pid) {
  try {
    return execFileSync('gdb', ['-p', String(pid), '-batch', '-ex', 'thread apply all bt 25'],
      { encoding: 'utf8', timeout: 30000, stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n').filter((l) => /^(#|Thread)/.test(l)).join('\n');
  } catch (e) { return `gdb: ${e.message}`; }
}

// UDP counters of this namespace (drops show up as RcvbufErrors/SndbufErrors).
function udpCounters() {
  try {
    const lines = fs.readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const k = lines[0].split(/\s+/).slice(1);
    const v = lines[1].split(/\s+/).slice(1).map(Number);
    return Object.fromEntries(k.map((x, i) => [x, v[i]]));
  } catch (e) { return {}; }
}

function udpDelta(a, b) {
  const out = {};
  for (const k of ['InDatagrams', 'OutDatagrams', 'InErrors', 'RcvbufErrors', 'SndbufErrors']) out[k] = (b[k] || 0) - (a[k] || 0);
  return out;
}

// UDP sockets of this namespace that dropped datagrams (full receive buffer).
function udpDrops(names) {
  const out = [];
  try {
    for (const l of fs.readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
      const f = l.trim().split(/\s+/);
      if (f.length < 13) continue;
      const drops = Number(f[f.length - 1]);
      if (!drops) continue;
      const [hexIp, hexPort] = f[1].split(':');
      const ip = [0, 2, 4, 6].map((i) => parseInt(hexIp.substr(i, 2), 16)).reverse().join('.');
      const port = parseInt(hexPort, 16);
      out.push({ socket: `${ip}:${port}`, who: names[port] || '?', drops, rxQueue: parseInt(f[4].split(':')[1], 16) });
    }
  } catch (e) { /* no /proc */ }
  return out;
}

// Packets from rtc-echo's ICE address to the browser's real address. The
// browser binds its socket to the any-address, so its packets reach C from
// C's own address: C can learn the browser's address only from a host
// candidate, i.e. in the mDNS case only by resolving the .local name.
// (An iptables counting rule that run-interop.sh adds in the namespace.)
function cToBrowserPackets(zero) {
  try {
    if (zero) execFileSync('iptables', ['-w', '-Z', 'OUTPUT'], { stdio: 'ignore' });
    const out = execFileSync('iptables', ['-w', '-L', 'OUTPUT', '-v', '-x', '-n'], { encoding: 'utf8' });
    const line = out.split('\n').find((l) => l.includes('pp-c-to-browser'));
    return line ? Number(line.trim().split(/\s+/)[0]) : null;
  } catch (e) { return null; }
}

// ---- browser ------------------------------------------------------------------

async function launchBrowser(name, { mdns }) {
  const userDataDir = fs.mkdtempSync(path.join(TMP, `chromium-${name}-`));
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu',
    ...(mdns ? [] : ['--disable-features=WebRtcHideLocalIpsWithMdns']),
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run', '--disable-quic',
    `--user-data-dir=${userDataDir}`,
    '--remote-debugging-pipe', '--no-startup-window',
  ];
  // ignoreDefaultArgs: exactly the flags above (Playwright's own list carries
  // a --disable-features of its own that would replace ours).
  const browser = await chromium.launch({ executablePath: CHROMIUM, ignoreDefaultArgs: true, args, timeout: 30000 });
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  return { browser, page, consoleLines, args };
}

// ---- one case -------------------------------------------------------------------

const SIZES = [1, 16 * KiB, 256 * KiB];

function echoArgs(signalUrl, room, tokenFile, pin, opens) {
  const a = ['--url', signalUrl, '--insecure-ws', '--room', room, '--token-file', tokenFile,
    '--pin', pin, '--local-address', C_ADDR, '--log-level', env.PP_INTEROP_ECHO_LOG || 'info'];
  for (const l of opens) a.push('--open-channel', l);
  return a;
}

function describeEcho(results) {
  return results.map((r) => (r.error ? `error: ${r.error}` : `${r.size}B ${r.kind}->${r.gotKind} ${r.gotSize}B ${r.ok ? 'ok' : `diff@${r.firstDiff}`} ${r.ms}ms`)).join('; ');
}

async function runCase(ctx, c) {
  diag(`---- case ${c.name}: ${c.title}`);
  const room = `interop-${c.name}-${randomBytes(4).toString('hex')}`;
  const { page, consoleLines } = await launchBrowser(c.name, { mdns: c.mdns });
  const summary = { case: c.name, mdns: c.mdns };
  const udp0 = udpCounters();
  cToBrowserPackets(true);
  let echo = null;
  const failures = failed;
  try {
    await page.goto(ctx.pageUrl);
    const init = await page.evaluate(() => window.PP.init());
    diag(`browser: ${init.userAgent}`);
    diag(`browser certificate: ${init.fingerprint}`);
    const browserToken = mintToken(ctx.secret, room, c.browserRole, 'chromium');
    const tokenFile = path.join(TMP, `${c.name}.token`);
    fs.writeFileSync(tokenFile, mintToken(ctx.secret, room, c.cRole, 'rtc-echo'), { mode: 0o600 });
    const opens = ['c-echo'];

    const joinBrowser = () => page.evaluate((a) => window.PP.join(a),
      { url: ctx.signalUrl, room, token: browserToken, timeoutMs: T.join });
    if (c.browserFirst) {
      const j = await joinBrowser();
      ok(j.protocol === 'peerpipe.v1' && j.peers === 0, `${c.name}: browser joined first (subprotocol ${j.protocol}, ${j.peers} peers)`);
      echo = new Echo(`echo-${c.name}`, echoArgs(ctx.signalUrl, room, tokenFile, init.fingerprint, opens));
      await echo.waitFor((e) => e.event === 'joined', T.join, 'JOINED');
    } else {
      echo = new Echo(`echo-${c.name}`, echoArgs(ctx.signalUrl, room, tokenFile, init.fingerprint, opens));
      await echo.waitFor((e) => e.event === 'joined', T.join, 'JOINED');
      const j = await joinBrowser();
      ok(j.protocol === 'peerpipe.v1' && j.peers === 1, `${c.name}: browser joined second (subprotocol ${j.protocol}, ${j.peers} peer listed)`);
    }
    const ready = echo.find((e) => e.event === 'ready');

    // ---- connection
    let conn = null;
    let cConn = null;
    try {
      [conn, cConn] = await Promise.all([
        page.evaluate((a) => window.PP.waitConnected(a), { timeoutMs: T.connect }),
        echo.waitFor((e) => e.event === 'connected' || e.event === 'failed', T.connect, 'connected'),
      ]);
    } catch (e) {
      ok(false, `${c.name}: connected`, e.message);
      throw e;
    }
    if (!ok(cConn.event === 'connected', `${c.name}: C side connected`, cConn)) throw new Error('C side failed');
    const cSelected = echo.find((e) => e.event === 'ice_selected');
    const bStats = conn.stats;
    summary.offerer = conn.offerer ? 'browser' : 'C';
    summary.browserDtlsRole = bStats.transport && bStats.transport.dtlsRole;
    summary.cDtlsRole = cConn.dtls_role;
    summary.browserPair = bStats.local && bStats.remote ? `${bStats.local.type} ${bStats.local.address}:${bStats.local.port} -> ${bStats.remote.type} ${bStats.remote.address}:${bStats.remote.port}` : null;
    summary.cPair = cSelected ? `${cSelected.local}/${cSelected.remote} ${cSelected.transport}` : null;
    summary.dtls = bStats.transport ? `${bStats.transport.tlsVersion} ${bStats.transport.dtlsCipher}` : null;

    ok(conn.offerer === c.browserFirst && cConn.offerer === !c.browserFirst,
      `${c.name}: offer rule: ${c.browserFirst ? 'browser (existing member)' : 'C (existing member)'} offered`, { browserOfferer: conn.offerer, cOfferer: cConn.offerer });
    const wantC = c.browserFirst ? 'client' : 'server';
    const wantB = c.browserFirst ? 'server' : 'client';
    ok(cConn.dtls_role === wantC && summary.browserDtlsRole === wantB,
      `${c.name}: DTLS roles: C ${cConn.dtls_role}, Chromium ${summary.browserDtlsRole} (a=setup local ${conn.localSetup}, remote ${conn.remoteSetup})`,
      { cRole: cConn.dtls_role, browserRole: summary.browserDtlsRole });
    ok(cConn.remote_fingerprint === init.fingerprint,
      `${c.name}: C verified the browser's pinned certificate`, { got: cConn.remote_fingerprint, want: init.fingerprint });
    ok(bStats.certificates.remoteCertificateId === ready.fingerprint && conn.remoteSdpFingerprint === ready.fingerprint,
      `${c.name}: browser got C's identity certificate (getStats remote certificate = C fingerprint)`,
      { stats: bStats.certificates.remoteCertificateId, sdp: conn.remoteSdpFingerprint, want: ready.fingerprint });
    ok(conn.remoteMaxMessageSize === '262144', `${c.name}: C's SDP says a=max-message-size:262144 (Chromium sctp.maxMessageSize ${conn.sctpMaxMessageSize})`, conn.remoteMaxMessageSize);
    diag(`candidates: browser ${JSON.stringify(conn.localCandidates)}; C ${JSON.stringify(echo.all((e) => e.event === 'local_candidate' && !e.end).map((e) => `${e.type} ${e.address}:${e.port}`))}`);
    diag(`selected pair: Chromium ${summary.browserPair}; C ${summary.cPair}; ${summary.dtls}`);
    if (conn.errors.length) diag(`page errors: ${conn.errors.join(' | ')}`);
    if (!c.mdns) diag(`C sent ${cToBrowserPackets(false)} packets to the browser's host address ${BROWSER_ADDR} so far`);

    if (c.mdns) {
      const remote = echo.all((e) => e.event === 'remote_candidate' && !e.end);
      const mdnsCands = remote.filter((e) => e.mdns);
      const unresolved = echo.all((e) => e.event === 'mdns' && e.resolved === false);
      const how = !cSelected ? 'unknown (no selected pair logged)'
        : cSelected.remote === 'host' ? 'C resolved the .local name (selected remote candidate is host)'
          : cSelected.remote === 'prflx' ? "C's own candidates reached the browser: the browser's address was learned from its checks (peer-reflexive)"
            : `selected remote type ${cSelected.remote}`;
      // give a resolution (2 s timeout) time to show up on the wire
      await new Promise((r) => setTimeout(r, 2500));
      const sent = cToBrowserPackets(false);
      const resolvedOnWire = sent === null ? 'unknown (no iptables counter)'
        : sent > 0 ? `yes: C sent ${sent} packets to ${BROWSER_ADDR}, an address it can only have from resolving the .local name`
          : `no: C sent nothing to ${BROWSER_ADDR}`;
      summary.mdns = { browserCandidates: remote.map((e) => e.address), unresolved: unresolved.map((e) => e.line), selected: how, resolvedOnWire };
      diag(`mDNS: C resolved the name: ${resolvedOnWire}`);
      ok(remote.length > 0 && mdnsCands.length === remote.length,
        `${c.name}: Chromium sent only .local host candidates (${remote.map((e) => e.address).join(', ')})`, remote);
      diag(`mDNS outcome: ${how}${unresolved.length ? `; unresolved: ${unresolved.map((e) => e.line).join(' | ')}` : ''}`);
    }

    // ---- channels opened from each side
    let bLabel = 'b-echo';
    if (!c.browserFirst) {
      const o = await page.evaluate((a) => window.PP.openChannel(a), { label: 'b-echo', timeoutMs: T.echo });
      ok(o.id % 2 === (wantB === 'client' ? 0 : 1), `${c.name}: browser opened b-echo on stream ${o.id} after connecting (parity of DTLS ${wantB})`, o);
    }
    const cOpen = await echo.waitFor((e) => e.event === 'channel_open' && e.label === bLabel, T.echo, 'b-echo open on C');
    ok(cOpen.origin === 'remote' && cOpen.protocol === 'peerpipe.echo.v1' && cOpen.id % 2 === (wantB === 'client' ? 0 : 1),
      `${c.name}: C saw the browser's channel b-echo (stream ${cOpen.id}, protocol ${cOpen.protocol})`, cOpen);
    const bSees = await page.evaluate((a) => window.PP.waitChannel(a), { label: 'c-echo', timeoutMs: T.echo });
    const cOwn = echo.find((e) => e.event === 'channel_open' && e.label === 'c-echo');
    ok(bSees.origin === 'remote' && bSees.protocol === 'peerpipe.echo.v1' && cOwn && cOwn.origin === 'local' &&
       bSees.id === cOwn.id && bSees.id % 2 === (wantC === 'client' ? 0 : 1),
    `${c.name}: browser got C's channel c-echo (stream ${bSees.id}, C is DTLS ${wantC})`, { browser: bSees, c: cOwn });

    // ---- echoes
    for (const [label, kind] of [[bLabel, 'binary'], [bLabel, 'text'], ['c-echo', 'binary'], ['c-echo', 'text']]) {
      const r = await page.evaluate((a) => window.PP.echo(a), { label, sizes: SIZES, kind, timeoutMs: T.echo, seedBase: 7 });
      const good = r.length === SIZES.length && r.every((x) => x.ok);
      ok(good, `${c.name}: ${kind} echo of 1 B, 16 KiB, 256 KiB on ${label} (${label === bLabel ? 'browser' : 'C'}-opened): ${describeEcho(r)}`, r);
    }
    if (!c.mdns) {
      const r = await page.evaluate((a) => window.PP.echo(a), { label: bLabel, sizes: [0], kind: 'binary', timeoutMs: 5000, seedBase: 1 });
      ok(r.length === 1 && r[0].ok, `${c.name}: empty binary message echoed (PPID 57)`, r);
      const m = echo.all((e) => e.event === 'message' && e.size === 0);
      if (m.length) diag(`C received the empty message as ${m[0].kind}, ${m[0].size} bytes`);

      // ---- bufferedAmountLow while moving 8 MB
      const b = await page.evaluate((a) => window.PP.bulk(a),
        { label: bLabel, total: BULK_MIB * MiB, chunk: 256 * KiB, low: 1 * MiB, high: 2 * MiB, timeoutMs: T.bulk });
      summary.bulk = b;
      ok(b.ok, `${c.name}: ${BULK_MIB} MiB in 256 KiB messages echoed byte for byte (${b.bytesEchoed} bytes, ${b.ms} ms, ${b.mbPerS} MB/s both ways)`, b);
      ok(b.waits > 0 && b.lowEvents >= b.waits && !b.lateEvent && b.bufferedAtEvents.every((x) => x <= b.low) && b.maxBuffered <= b.high + b.chunk,
        `${c.name}: bufferedAmountLowThreshold honoured (${b.waits} waits, ${b.lowEvents} bufferedamountlow events, max bufferedAmount ${b.maxBuffered})`, b);
      const names = {};
      for (const e of echo.all((x) => x.event === 'local_candidate' && x.port)) names[e.port] = 'rtc-echo ICE';
      for (const l of conn.localCandidates) { const m = / (\d+) typ /.exec(l); if (m) names[m[1]] = 'Chromium ICE'; }
      summary.udpDrops = udpDrops(names);
      if (summary.udpDrops.length) diag(`UDP receive-buffer drops so far: ${JSON.stringify(summary.udpDrops)}`);
      const cc = echo.all((e) => e.event === 'message' && e.label === bLabel && e.size === 256 * KiB).length;
      diag(`C echoed ${cc} messages of 256 KiB on ${bLabel}`);

      // ---- close one channel from the browser
      await page.evaluate((a) => window.PP.closeChannel(a), { label: 'c-echo', timeoutMs: T.close });
      let closed = null;
      try {
        closed = await echo.waitFor((e) => e.event === 'channel_closed' && e.label === 'c-echo', T.close, 'c-echo closed');
      } catch (e) { /* reported below */ }
      ok(!!closed, `${c.name}: browser's close of c-echo reached C (stream reset)`, closed);
    }

    // ---- C goes away: SIGTERM
    echo.child.kill('SIGTERM');
    const ex = await Promise.race([echo.exit, new Promise((r) => setTimeout(() => r(null), 5000))]);
    ok(ex && ex.code === 0, `${c.name}: rtc-echo exits 0 on SIGTERM`, ex);
    const gone = await page.evaluate((a) => window.PP.waitRemoteGone(a), { timeoutMs: T.close });
    summary.afterSigterm = gone;
    ok(gone.channelsStillOpen.length === 0, `${c.name}: browser saw the C peer close (${gone.ms} ms: channels ${JSON.stringify(gone.channelStates)}, sctp ${gone.sctpState}; then DTLS transport ${gone.dtlsTransportState}, connection ${gone.connectionState} after ${gone.dtlsStateAfterMs} ms)`, gone);
  } catch (e) {
    ok(false, `${c.name}: case aborted`, e.stack || e.message);
  } finally {
    if (failed > failures) {
      try {
        const rep = await page.evaluate(() => window.PP.report());
        diag(`page report: ${JSON.stringify(rep)}`);
        diag(`page stats: ${JSON.stringify(await page.evaluate(() => window.PP.stats()))}`);
      } catch (e) { diag(`no page report: ${e.message}`); }
      diag(`browser console:\n${consoleLines.slice(-40).join('\n')}`);
      if (echo) {
        diag(`rtc-echo events:\n${echo.events.filter((e) => e.event !== 'message').slice(-60).map((e) => JSON.stringify(e)).join('\n')}`);
        diag(`rtc-echo stderr:\n${echo.stderrTail(60)}`);
        if (echo.child.exitCode === null && echo.child.signalCode === null) diag(`rtc-echo threads:\n${backtrace(echo.child.pid)}`);
      }
    }
    summary.udp = udpDelta(udp0, udpCounters());
    if (echo) {
      summary.cChannels = echo.all((e) => e.event === 'channel_closed').map((e) => ({ label: e.label, id: e.id, messages: e.messages, bytes: e.bytes, echoesWaited: e.echoes_waited, lowEvents: e.low_events }));
    }
    diag(`summary ${c.name}: ${JSON.stringify(summary)}`);
    try { await page.evaluate(() => window.PP.leave()); } catch (e) { /* closed */ }
    if (echo && echo.child.exitCode === null) echo.child.kill('SIGKILL');
    await page.context().browser().close();
  }
  return summary;
}

// ---- main ---------------------------------------------------------------------------

const CASES = [
  { name: 'browser-offers', title: 'Chromium joins first and offers; C answers (C = DTLS client)', browserFirst: true, mdns: false, browserRole: 'desktop', cRole: 'gateway' },
  { name: 'c-offers', title: 'C joins first and offers; Chromium answers (C = DTLS server)', browserFirst: false, mdns: false, browserRole: 'gateway', cRole: 'desktop' },
  { name: 'mdns', title: "Chromium's default .local host candidates; Chromium offers", browserFirst: true, mdns: true, browserRole: 'desktop', cRole: 'gateway' },
];

async function main() {
  for (const [k, v] of Object.entries({ PP_SIGNAL_BIN: SIGNAL_BIN, PP_RTC_ECHO_BIN: ECHO_BIN, PP_CLI_BIN: CLI_BIN, PP_C_ADDR: C_ADDR, PP_BROWSER_ADDR: BROWSER_ADDR })) {
    if (!v) throw new Error(`${k} is not set`);
  }
  const secret = writeSecret();
  const sig = await startSignal(secret);
  const pageSrv = await startPageServer();
  diag(`signal ${sig.url}, page ${pageSrv.url}, C on ${C_ADDR}, Chromium on ${BROWSER_ADDR}`);
  const ctx = { secret, signalUrl: sig.url, pageUrl: pageSrv.url };
  const summaries = [];
  for (const c of CASES) {
    if (ONLY && !ONLY.includes(c.name)) continue;
    summaries.push(await runCase(ctx, c));
  }
  pageSrv.server.close();
  sig.child.kill('SIGTERM');
  fs.writeFileSync(path.join(TMP, 'summary.json'), JSON.stringify(summaries, null, 1));
}

try {
  await main();
} catch (e) {
  ok(false, 'harness', e.stack || e.message);
}
console.log(`1..${testNo}`);
// The closing count goes to stderr: meson's TAP parser would flag it.
console.error(`${passed} passed, ${failed} failed`);
killAll();
process.exit(failed ? 1 : 0);

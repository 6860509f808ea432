// `make bench-web`: the web service (services/web) under load, against the whole
// running system started by `scripts/run.sh --then` (intake, routing, PostgreSQL,
// Kafka, Keycloak on this machine). Three measurements:
//
//   walk-ins   closed loop: N desk sessions, each signed in at the real Keycloak over
//              plain HTTP, each POSTing the walk-in form and reading the slip page
//              back-to-back; latency = POST sent → slip page fully received
//   tracking   open loop: first files petitions through the citizen site, then POSTs
//              /track at a fixed rate, latency measured from each request's
//              *scheduled* send time (no coordinated omission)
//   page bytes Chromium (playwright-core), bytes received per load of the walk-in
//              page, first visit (empty HTTP cache) and repeat visit, summed from
//              CDP `Network.loadingFinished.encodedDataLength` of the page and of the
//              desk's service worker
//
// Before each load phase the system drains (routing has a case for every petition, the machine
// is quiet), so a phase does not measure the previous one's backlog. Each phase also records
// the time per route inside the web and intake (/metrics), the CPU per process (/proc), and the
// load generator's own CPU and event-loop delay: where the time went.
//
// Settings (environment; defaults in parentheses):
//   BENCH_WEB_SESSIONS (50)           concurrent desk sessions
//   BENCH_WEB_WALK_IN_SECONDS (20)    measured closed-loop time
//   BENCH_WEB_WARMUP_SECONDS (3)      closed-loop time before that, not counted
//   BENCH_WEB_TRACK_PETITIONS (50)    petitions filed through the site, then tracked
//   BENCH_WEB_TRACK_RATE (200)        tracking requests per second, open loop
//   BENCH_WEB_TRACK_SECONDS (15)      open-loop time
//   BENCH_WEB_USER (operator-tehran)  desk operator every session signs in as
//   BENCH_WEB_ONLY (walk_in,track,bytes)  a subset, when working on one of them
//   BENCH_WEB_OUT (bench/results/web.json)
// and from run.sh: PASOKH_WEB_PUBLIC_URL, PASOKH_WEB_STAFF_URL, PASOKH_DESK_EVENT.
// Progress on stderr, prefixed [bench-web]; the figures on stdout and in BENCH_WEB_OUT.
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { launch } from '../../tests/browser/lib/browser.mjs';
import { env, nationalId, mobile, asciiDigits, signIn, intakeScalar, routingScalar } from '../../tests/browser/lib/pasokh.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function setting(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got '${raw}')`);
  return value;
}

const SETTINGS = {
  sessions: Math.round(setting('BENCH_WEB_SESSIONS', 50)),
  walk_in_seconds: setting('BENCH_WEB_WALK_IN_SECONDS', 20),
  warmup_seconds: setting('BENCH_WEB_WARMUP_SECONDS', 3),
  track_petitions: Math.round(setting('BENCH_WEB_TRACK_PETITIONS', 50)),
  track_rate_per_s: setting('BENCH_WEB_TRACK_RATE', 200),
  track_seconds: setting('BENCH_WEB_TRACK_SECONDS', 15),
  user: process.env.BENCH_WEB_USER || 'operator-tehran',
  profile: process.env.PASOKH_PROFILE || 'debug',
};
const PASSWORD = 'pasokh-demo';
const ONLY = new Set((process.env.BENCH_WEB_ONLY || 'walk_in,track,bytes').split(',').map((s) => s.trim()));
const OUT = path.resolve(ROOT, process.env.BENCH_WEB_OUT || 'bench/results/web.json');
const TARGETS = { walk_in_p99_ms: 300, track_p99_ms: 300, first_visit_kb: 150, repeat_visit_kb: 20 };
const REQUEST_TIMEOUT_MS = 30_000;

const say = (...parts) => console.error('[bench-web]', ...parts);

// --- small tools ---------------------------------------------------------------

/** Nearest-rank percentile of sorted numbers. */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

const round = (x, digits = 1) => (x === null || x === undefined ? null : Number(x.toFixed(digits)));

function summary(latencies) {
  const sorted = Float64Array.from(latencies).sort();
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null;
  return {
    p50_ms: round(percentile(sorted, 50)),
    p90_ms: round(percentile(sorted, 90)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(sorted.length ? sorted[sorted.length - 1] : null),
    mean_ms: round(mean),
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Counts errors by kind and keeps a few examples of each. */
class Errors {
  constructor() { this.kinds = {}; this.total = 0; }
  add(kind, example) {
    this.total += 1;
    const entry = (this.kinds[kind] ||= { count: 0, examples: [] });
    entry.count += 1;
    if (example && entry.examples.length < 3) entry.examples.push(String(example).slice(0, 300));
  }
  toJSON() { return { total: this.total, by_kind: this.kinds }; }
}

/** The visible text of an HTML snippet (for error examples). */
function textOf(html) {
  return html.replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/g, ' ').replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ').trim();
}

function decodeEntities(text) {
  return text.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, e) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" })[e]);
}

function hiddenValue(html, name) {
  const input = html.match(new RegExp(`<input[^>]*name="${name}"[^>]*>`))?.[0];
  const value = input?.match(/value="([^"]*)"/)?.[1];
  return value === undefined ? undefined : decodeEntities(value);
}

/**
 * Cookies by origin, as a browser keeps them for these sites: Node's fetch keeps none, and
 * every cookie here is `Secure` (over plain HTTP to 127.0.0.1, which browsers treat as a
 * secure context). Attributes other than Max-Age=0 are ignored; Keycloak's and the web's
 * cookies differ by origin (port), which is all these flows need.
 */
class CookieJar {
  constructor() { this.byOrigin = new Map(); }
  store(url, response) {
    const origin = new URL(url).origin;
    const jar = this.byOrigin.get(origin) ?? new Map();
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      if (at <= 0) continue;
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a)) || value === '';
      if (expired) jar.delete(name); else jar.set(name, value);
    }
    this.byOrigin.set(origin, jar);
  }
  header(url) {
    const jar = this.byOrigin.get(new URL(url).origin);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }
  get(url, name) { return this.byOrigin.get(new URL(url).origin)?.get(name); }
}

/** One request with this jar's cookies; redirects are answered, not followed. */
async function send(jar, url, { method = 'GET', form, headers = {} } = {}) {
  const cookie = jar.header(url);
  const response = await fetch(url, {
    method,
    redirect: 'manual',
    headers: {
      ...(cookie ? { cookie } : {}),
      ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      'accept-language': 'fa',
      ...headers,
    },
    body: form ? new URLSearchParams(form).toString() : undefined,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  jar.store(url, response);
  const body = await response.text();
  const location = response.headers.get('location');
  return { status: response.status, body, location: location ? new URL(location, url).href : null, url };
}

/** Follows redirects (as GETs) the way a browser does, up to `hops`. */
async function follow(jar, first, hops = 15) {
  let answer = first;
  for (let i = 0; i < hops && answer.status >= 300 && answer.status < 400 && answer.location; i += 1) {
    answer = await send(jar, answer.location);
  }
  return answer;
}

/** Runs `work(i)` for 0…n-1, at most `width` at a time. */
async function inParallel(n, width, work) {
  const results = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      results[i] = await work(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, width) }, worker));
  return results;
}

/** How late this load generator's own event loop ran its callbacks (ms): a late loop inflates latencies. */
function eventLoopDelay(histogram) {
  const ms = (ns) => round(ns / 1e6);
  return { p50_ms: ms(histogram.percentile(50)), p99_ms: ms(histogram.percentile(99)), max_ms: ms(histogram.max) };
}

/** How busy this load generator was over a phase: CPU time used / wall time (1.0 = one core). */
function clientCpu(startCpu, startWall) {
  const used = process.cpuUsage(startCpu);
  return round((used.user + used.system) / 1000 / (performance.now() - startWall), 2);
}

/** Time spent per route by a service, from its /metrics (request-duration histogram sums and counts). */
async function serverTimes(base) {
  const totals = {};
  try {
    const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    for (const line of text.split('\n')) {
      const m = line.match(/^(?:[a-z]+_)?http_request_duration_seconds_(sum|count)\{(.*)\} ([0-9.eE+-]+)$/);
      if (!m) continue;
      const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
      const key = `${labels.method} ${labels.route}`;
      const entry = (totals[key] ||= { sum: 0, count: 0 });
      entry[m[1]] += Number(m[3]);
    }
  } catch (error) {
    say(`no metrics from ${base}: ${error.message}`);
  }
  return totals;
}

/** What each service did between two serverTimes() readings: requests and mean time per route. */
function serverDelta(before, after) {
  const routes = {};
  for (const [key, now] of Object.entries(after)) {
    const count = now.count - (before[key]?.count ?? 0);
    if (count <= 0 || /\/(metrics|readyz|healthz)$/.test(key)) continue;
    const seconds = now.sum - (before[key]?.sum ?? 0);
    routes[key] = { requests: count, mean_ms: round((seconds / count) * 1000, 2) };
  }
  return routes;
}

/** Readings of the web's and Tehran intake's /metrics, for the breakdown of where time went. */
async function serviceTimes() {
  return { web: await serverTimes(staffUrl()), intake_ir23: await serverTimes(process.env.PASOKH_INTAKE_URL_IR23) };
}
function serviceDelta(before, after) {
  return { web: serverDelta(before.web, after.web), intake_ir23: serverDelta(before.intake_ir23, after.intake_ir23) };
}

// --- who used the CPU: /proc, per phase ----------------------------------------------

const RUN_DIR = process.env.PASOKH_RUN_DIR || '';
const CLOCK_TICKS = 100; // USER_HZ on Linux

/** What a process is, for the CPU breakdown; null for anything not named here. */
function classify(pid, cmdline) {
  if (Number(pid) === process.pid) return 'load generator (node)';
  if (RUN_DIR && cmdline.includes(`${RUN_DIR}/run/`)) {
    const service = cmdline.match(/\/run\/(\w+)\.toml/)?.[1];
    if (service === 'intake') {
      let environ = '';
      try { environ = readFileSync(`/proc/${pid}/environ`, 'latin1'); } catch { /* ended */ }
      return `intake ${environ.match(/PASOKH__PROVINCE=([A-Z0-9-]+)/)?.[1] ?? '?'}`;
    }
    return service ?? null;
  }
  if (RUN_DIR && cmdline.includes('pasokh-sms-sink') && cmdline.includes(RUN_DIR)) return 'sms sink';
  if (cmdline.startsWith('postgres: ')) {
    return cmdline.includes(' pasokh_bench_web_') ? 'postgres (this run\'s databases)' : 'postgres (WAL, checkpoints, other databases)';
  }
  if (cmdline.includes('kafka.Kafka') && cmdline.includes(`${ROOT}/.local`)) return 'kafka';
  if (cmdline.includes('keycloak') && cmdline.includes(`${ROOT}/.local`)) return 'keycloak';
  return null;
}

/**
 * CPU ticks so far: the whole machine's busy time, and per named process. Read synchronously
 * (a few milliseconds): under load, hundreds of asynchronous reads would wait behind the
 * benchmark's own traffic and the snapshot would be taken seconds late.
 */
function cpuSnapshot() {
  const snapshot = { at: performance.now(), machineBusy: 0, byPid: new Map() };
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    snapshot.machineBusy = user + nice + system + irq + softirq + steal;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
        const group = classify(pid, cmdline);
        if (!group) continue;
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        snapshot.byPid.set(pid, { group, ticks: Number(rest[11]) + Number(rest[12]) });
      } catch {
        // the process ended meanwhile
      }
    }
  } catch (error) {
    say(`no CPU breakdown: ${error.message}`);
  }
  snapshot.at = performance.now();
  return snapshot;
}

/** Cores used per group between two snapshots (1.0 = one core busy all the time). */
function cpuDelta(before, after) {
  const seconds = (after.at - before.at) / 1000;
  const cores = (ticks) => round(ticks / CLOCK_TICKS / seconds, 2);
  const groups = {};
  let named = 0;
  for (const [pid, now] of after.byPid) {
    const ticks = now.ticks - (before.byPid.get(pid)?.ticks ?? 0);
    groups[now.group] = (groups[now.group] ?? 0) + ticks;
    named += ticks;
  }
  const machine = after.machineBusy - before.machineBusy;
  const result = Object.fromEntries(Object.entries(groups).sort((a, b) => b[1] - a[1]).map(([g, t]) => [g, cores(t)]));
  result['everything else on the machine'] = cores(Math.max(0, machine - named));
  result[`machine busy (of ${os.cpus().length} cores)`] = cores(machine);
  return result;
}

/**
 * Waits until the system has finished the work a phase left behind: routing holds a case for
 * every petition intake stored (the lifecycle events went through Kafka), and then the machine
 * is quiet (under 0.5 cores busy for 3 s running) as notification, reporting and the SMS sink
 * catch up. Without this, a phase measures the previous phase's backlog too.
 */
async function drain(label, timeoutSeconds = 180) {
  const started = performance.now();
  const deadline = started + timeoutSeconds * 1000;
  let petitions = null;
  let cases = null;
  try {
    for (;;) {
      petitions = Number(intakeScalar('SELECT count(*) FROM petitions'));
      cases = Number(routingScalar('SELECT count(*) FROM cases'));
      if (cases >= petitions || performance.now() > deadline) break;
      await sleep(1000);
    }
  } catch (error) {
    say(`${label}: could not compare intake's petitions with routing's cases: ${error.message.split('\n')[0]}`);
  }
  let quietFor = 0;
  let busy = null;
  while (quietFor < 3 && performance.now() < deadline) {
    const before = cpuSnapshot();
    await sleep(1000);
    const after = cpuSnapshot();
    busy = (after.machineBusy - before.machineBusy) / CLOCK_TICKS / ((after.at - before.at) / 1000);
    quietFor = busy < 0.5 ? quietFor + 1 : 0;
  }
  const result = {
    seconds: round((performance.now() - started) / 1000, 1),
    petitions_in_intake: petitions,
    cases_in_routing: cases,
    quiet: quietFor >= 3,
    last_busy_cores: round(busy, 2),
  };
  say(`${label}: drained in ${result.seconds} s (${cases}/${petitions} petitions routed; ` +
    `${result.quiet ? 'machine quiet' : `machine still busy (${result.last_busy_cores} cores): going on anyway`})`);
  return result;
}

// --- desk sessions: sign-in at Keycloak over plain HTTP --------------------------

const staffUrl = () => env.staffUrl;
const publicUrl = () => env.publicUrl;

/** A desk session: the browser's journey from the console to Keycloak's form and back, by hand. */
async function deskSession(user) {
  const jar = new CookieJar();
  const walkInUrl = `${staffUrl()}/desk/events/${env.deskEvent}`;
  // the console sends an anonymous visitor to /auth/sign-in, which sends them to the provider
  const login = await follow(jar, await send(jar, walkInUrl));
  if (!login.url.startsWith(env.staffUrl) && login.status === 200) {
    const formTag = login.body.match(/<form[^>]*id="kc-form-login"[^>]*>/)?.[0] ?? login.body.match(/<form[^>]*>/)?.[0];
    const action = formTag?.match(/action="([^"]+)"/)?.[1];
    if (!action) throw new Error(`no login form at ${login.url}: ${textOf(login.body).slice(0, 200)}`);
    const posted = await send(jar, new URL(decodeEntities(action), login.url).href, {
      method: 'POST',
      form: { username: user, password: PASSWORD, credentialId: '' },
    });
    if (!posted.location) throw new Error(`Keycloak refused the sign-in of ${user} (${posted.status}): ${textOf(posted.body).slice(0, 200)}`);
    const back = await follow(jar, posted);
    if (back.status !== 200 || !back.url.startsWith(walkInUrl)) {
      throw new Error(`sign-in ended at ${back.url} with ${back.status}: ${textOf(back.body).slice(0, 200)}`);
    }
    if (!jar.get(staffUrl(), '__Host-pasokh-staff')) throw new Error('signed in, but no __Host-pasokh-staff cookie');
    return { jar, page: back.body };
  }
  throw new Error(`expected Keycloak's login page, got ${login.status} at ${login.url}`);
}

// --- walk-ins: closed loop ---------------------------------------------------------

async function walkIns() {
  const { sessions, walk_in_seconds: seconds, warmup_seconds: warmup, user } = SETTINGS;
  say(`walk-ins: signing in ${sessions} desk sessions as ${user} at Keycloak (HTTP only)`);
  const signInStarted = performance.now();
  const desks = await inParallel(sessions, 8, async () => {
    const { jar, page } = await deskSession(user);
    const csrf = hiddenValue(page, 'csrf');
    const action = page.match(/<form[^>]*action="([^"]*\/walk-ins)"/)?.[1];
    if (!csrf || !action) throw new Error('the walk-in page has no form with a csrf value');
    return { jar, csrf, action: new URL(decodeEntities(action), staffUrl()).href };
  });
  const signInSeconds = (performance.now() - signInStarted) / 1000;
  const drained = await drain('walk-ins');
  say(`walk-ins: ${desks.length} sessions signed in in ${signInSeconds.toFixed(1)} s; ` +
    `${warmup} s warm-up, then ${seconds} s closed loop`);

  const latencies = [];
  const postLatencies = [];
  const slipLatencies = [];
  const errors = new Errors();
  const warmupErrors = new Errors();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  let warmupDone = 0;
  const started = performance.now();
  const measureFrom = started + warmup * 1000;
  let timesBefore = null;
  let cpuBefore = null;
  let procBefore = null;
  const reading = sleep(warmup * 1000).then(async () => {
    cpuBefore = [process.cpuUsage(), performance.now()];
    procBefore = cpuSnapshot();
    loopDelay.enable();
    timesBefore = await serviceTimes();
  });
  const end = measureFrom + seconds * 1000;
  let lastDone = measureFrom;

  const one = async (desk) => {
    const t0 = performance.now();
    const counting = t0 >= measureFrom;
    const sink = counting ? errors : warmupErrors;
    try {
      const posted = await send(desk.jar, desk.action, {
        method: 'POST',
        form: {
          csrf: desk.csrf,
          idempotency_key: randomUUID(),
          national_id: nationalId(),
          mobile: mobile(),
          category: 'pension-payment',
          text: `مستمری این ماه واریز نشده است؛ مراجعهٔ آزمایشی ${randomUUID().slice(0, 8)}`,
        },
      });
      if (posted.status !== 303 || !posted.location?.includes('/desk/slips/')) {
        const where = posted.location ? ` → ${new URL(posted.location).pathname}` : '';
        sink.add(`POST ${posted.status}${where}`, textOf(posted.body).slice(0, 200));
        return;
      }
      const tPosted = performance.now();
      const slip = await send(desk.jar, posted.location);
      const t1 = performance.now();
      if (slip.status !== 200 || !/class="code"><bdi>[۰-۹]{12}<\/bdi>/.test(slip.body)) {
        sink.add(`slip ${slip.status}`, textOf(slip.body).slice(0, 200));
        return;
      }
      if (counting) {
        latencies.push(t1 - t0);
        postLatencies.push(tPosted - t0);
        slipLatencies.push(t1 - tPosted);
        lastDone = Math.max(lastDone, t1);
      } else {
        warmupDone += 1;
      }
    } catch (error) {
      sink.add(`exception ${error.name}`, error.message);
    }
  };
  let lastReport = performance.now();
  await Promise.all(desks.map(async (desk) => {
    while (performance.now() < end) {
      await one(desk);
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now();
        const elapsed = (lastReport - started) / 1000;
        say(`walk-ins: ${elapsed.toFixed(0)} s, ${latencies.length} slips measured, ${errors.total} errors`);
      }
    }
  }));
  await reading;
  loopDelay.disable();
  const loadGeneratorCpu = clientCpu(...cpuBefore);
  const cpu = cpuDelta(procBefore, cpuSnapshot());
  const server = serviceDelta(timesBefore, await serviceTimes());
  const measuredSeconds = (Math.max(lastDone, end) - measureFrom) / 1000;
  const stats = summary(latencies);
  const result = {
    sessions: desks.length,
    user,
    seconds,
    warmup_seconds: warmup,
    sign_in_seconds: round(signInSeconds, 2),
    drained_before: drained,
    slips: latencies.length,
    slips_per_s: round(latencies.length / measuredSeconds, 1),
    ...stats,
    errors: errors.toJSON(),
    warmup: { slips: warmupDone, errors: warmupErrors.toJSON() },
    latency: 'POST /desk/events/{id}/walk-ins sent → 303 → GET /desk/slips/{token} body fully received',
    post_to_303: summary(postLatencies),
    slip_page: summary(slipLatencies),
    server_side: server,
    cpu_cores: cpu,
    load_generator_cpu_cores: loadGeneratorCpu,
    load_generator_event_loop_delay: eventLoopDelay(loopDelay),
    load_average_after: os.loadavg().map((x) => round(x, 2)),
  };
  say(`walk-ins: ${result.slips} slips (${result.slips_per_s}/s), p50 ${stats.p50_ms} ms, p99 ${stats.p99_ms} ms, ` +
    `max ${stats.max_ms} ms, ${errors.total} errors`);
  return result;
}

// --- tracking: petitions filed through the site, then an open loop of /track ----------

async function filePetition() {
  const jar = new CookieJar();
  const form = await send(jar, `${publicUrl()}/petitions/new`);
  const csrf = hiddenValue(form.body, 'csrf');
  const key = hiddenValue(form.body, 'idempotency_key');
  if (form.status !== 200 || !csrf || !jar.get(publicUrl(), '__Host-pasokh-csrf')) {
    throw new Error(`GET /petitions/new: ${form.status}, no csrf value or cookie`);
  }
  const citizen = { national_id: nationalId(), mobile: mobile() };
  const posted = await send(jar, `${publicUrl()}/petitions`, {
    method: 'POST',
    form: {
      csrf,
      idempotency_key: key ?? randomUUID(),
      category: 'pension-payment',
      kind: 'request',
      province: 'IR-23',
      county: '',
      ...citizen,
      text: `مستمری این ماه من واریز نشده است؛ درخواست آزمایشی ${randomUUID().slice(0, 8)}`,
    },
  });
  if (posted.status !== 303 || !posted.location?.includes('/receipts/')) {
    throw new Error(`POST /petitions answered ${posted.status}: ${textOf(posted.body).slice(0, 300)}`);
  }
  const receipt = await send(jar, posted.location);
  const shown = receipt.body.match(/class="panel"[\s\S]*?class="code"><bdi>([^<]+)<\/bdi>/)?.[1];
  const code = shown && asciiDigits(shown.trim());
  if (!/^\d{12}$/.test(code ?? '')) throw new Error(`no tracking code on the receipt page (${receipt.status})`);
  return { code, mobile: citizen.mobile, jar, csrf };
}

async function tracking() {
  const { track_petitions: count, track_rate_per_s: rate, track_seconds: seconds } = SETTINGS;
  say(`tracking: filing ${count} petitions through the citizen site`);
  const filingStarted = performance.now();
  const petitions = await inParallel(count, 5, () => filePetition());
  const filingSeconds = (performance.now() - filingStarted) / 1000;
  say(`tracking: ${petitions.length} petitions filed in ${filingSeconds.toFixed(1)} s`);
  // the walk-ins' backlog (routing, notification, SMS) and these petitions' routing finish first
  const drained = await drain('tracking');
  say(`tracking: open loop at ${rate}/s for ${seconds} s`);

  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const latencies = [];
  const errors = new Errors();
  let sent = 0;
  let maxInFlight = 0;
  let inFlight = 0;
  let maxSendLagMs = 0;
  let withoutRouting = 0;
  const inFlightDone = [];
  const timesBefore = await serviceTimes();
  const cpuBefore = [process.cpuUsage(), performance.now()];
  const procBefore = cpuSnapshot();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const t0 = performance.now() + 100;

  const track = async (i, due) => {
    const petition = petitions[i % petitions.length];
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      const answer = await send(petition.jar, `${publicUrl()}/track`, {
        method: 'POST',
        form: { csrf: petition.csrf, tracking_code: petition.code, mobile: petition.mobile },
      });
      const done = performance.now();
      if (answer.status !== 200 || !/<h1>وضعیت درخواست/.test(answer.body)) {
        const alert = answer.body.match(/role="alert"[\s\S]*?<\/div>/)?.[0];
        errors.add(`status ${answer.status}`, textOf(alert ?? answer.body).slice(0, 200));
      } else {
        latencies.push(done - due);
        // intake answered from its own record: routing (the case's status) did not answer in time
        if (answer.body.includes('وضعیت نهایی از واحد رسیدگی در دسترس نبود')) withoutRouting += 1;
      }
    } catch (error) {
      errors.add(`exception ${error.name}`, error.message);
    } finally {
      inFlight -= 1;
    }
  };

  let lastReport = performance.now();
  for (let i = 0; i < total;) {
    const now = performance.now();
    const due = t0 + i * interval;
    if (now < due) {
      await sleep(due - now);
      continue;
    }
    // every request whose time has come leaves now, late ones too: their lateness counts
    while (i < total && t0 + i * interval <= performance.now()) {
      const scheduled = t0 + i * interval;
      maxSendLagMs = Math.max(maxSendLagMs, performance.now() - scheduled);
      inFlightDone.push(track(i, scheduled));
      sent += 1;
      i += 1;
    }
    if (now - lastReport > 5000) {
      lastReport = now;
      say(`tracking: ${((now - t0) / 1000).toFixed(0)} s, ${sent} sent, ${latencies.length} answered, ${errors.total} errors, ${inFlight} in flight`);
    }
  }
  const sendSeconds = (performance.now() - t0) / 1000;
  await Promise.all(inFlightDone);
  loopDelay.disable();
  const loadGeneratorCpu = clientCpu(...cpuBefore);
  const cpu = cpuDelta(procBefore, cpuSnapshot());
  const server = serviceDelta(timesBefore, await serviceTimes());
  const stats = summary(latencies);
  const result = {
    petitions: petitions.length,
    filing_seconds: round(filingSeconds, 2),
    drained_before: drained,
    rate_per_s: rate,
    seconds,
    scheduled: total,
    sent,
    sent_per_s: round(sent / sendSeconds, 1),
    answered: latencies.length,
    answered_per_s: round(latencies.length / sendSeconds, 1),
    answered_without_routing: withoutRouting,
    ...stats,
    max_in_flight: maxInFlight,
    max_send_lag_ms: round(maxSendLagMs),
    errors: errors.toJSON(),
    latency: 'POST /track scheduled send time → status page body fully received (open loop)',
    server_side: server,
    cpu_cores: cpu,
    load_generator_cpu_cores: loadGeneratorCpu,
    load_generator_event_loop_delay: eventLoopDelay(loopDelay),
    load_average_after: os.loadavg().map((x) => round(x, 2)),
  };
  say(`tracking: ${result.answered} answered (${result.answered_per_s}/s of ${rate}/s), p50 ${stats.p50_ms} ms, ` +
    `p99 ${stats.p99_ms} ms, max ${stats.max_ms} ms, ${errors.total} errors`);
  return result;
}

// --- page bytes: Chromium, CDP -------------------------------------------------------

/**
 * Collects what CDP's Network domain reports for the page and for the desk's service
 * worker, per phase ("first", "repeat"). The service worker is a target of its own: on
 * the repeat visit it fetches the page from the network and the page sees only its
 * answer (fromServiceWorker, 0 bytes), so its traffic is read from its own target,
 * attached (non-flattened, through the browser session) as soon as Chromium creates it.
 */
class Traffic {
  constructor() { this.requests = new Map(); this.phase = null; }
  record(target, method, params) {
    const key = `${target}:${params.requestId}`;
    if (method === 'Network.requestWillBeSent') {
      const earlier = this.requests.get(key);
      // a redirect reuses the request id: keep the hop that was answered as its own entry
      if (earlier && params.redirectResponse) {
        earlier.bytes = earlier.bytes ?? params.redirectResponse.encodedDataLength ?? 0;
        this.requests.set(`${key}:${Math.random()}`, earlier);
      }
      this.requests.set(key, { target, phase: this.phase, url: params.request.url, type: params.type ?? null, status: null, bytes: null });
      return;
    }
    const entry = this.requests.get(key);
    if (!entry) return;
    if (method === 'Network.responseReceived') {
      entry.status = params.response.status;
      entry.from_disk_cache = Boolean(params.response.fromDiskCache);
      entry.from_service_worker = Boolean(params.response.fromServiceWorker);
      entry.protocol = params.response.protocol;
      entry.encoding = params.response.headers?.['content-encoding'] ?? params.response.headers?.['Content-Encoding'] ?? null;
    } else if (method === 'Network.requestServedFromCache') {
      entry.from_memory_cache = true;
    } else if (method === 'Network.loadingFinished') {
      entry.bytes = params.encodedDataLength;
    } else if (method === 'Network.loadingFailed') {
      entry.failed = params.errorText;
      entry.bytes = entry.bytes ?? 0;
    }
  }
  of(phase) {
    const items = [...this.requests.values()].filter((r) => r.phase === phase);
    const bytes = items.reduce((sum, r) => sum + (r.bytes ?? 0), 0);
    return { bytes, items };
  }
}

function shortUrl(url) {
  try { const u = new URL(url); return u.pathname + (u.search ? '?…' : ''); } catch { return url; }
}

/** Raw size of one HTTP/1.1 answer (status line, headers, body) as this server sends it to Chromium. */
async function answerSize(url, headers) {
  const response = await fetch(url, { headers });
  const body = Buffer.from(await response.arrayBuffer());
  let size = `HTTP/1.1 ${response.status} ${response.statusText}\r\n`.length + 2;
  for (const [name, value] of response.headers) size += Buffer.byteLength(`${name}: ${value}\r\n`);
  // fetch decodes content; the service worker script is sent as is (not compressed)
  return size + body.length;
}

async function pageBytes() {
  const browser = await launch();
  try {
    const walkInUrl = `${staffUrl()}/desk/events/${env.deskEvent}`;
    say(`page bytes: Chromium ${browser.version()}, signing in as ${SETTINGS.user} in a context of its own`);
    const signInContext = await browser.newContext({ locale: 'fa-IR' });
    const signInPage = await signInContext.newPage();
    await signInPage.goto(`${staffUrl()}/desk`);
    await signIn(signInPage, SETTINGS.user, PASSWORD);
    await signInPage.getByRole('heading', { name: /میزهای خدمت امروز/ }).waitFor();
    const session = (await signInContext.cookies(staffUrl())).find((c) => c.name === '__Host-pasokh-staff');
    if (!session) throw new Error('signed in, but the browser has no __Host-pasokh-staff cookie');
    await signInContext.close();

    // a fresh context (empty HTTP cache, no service worker, no Cache Storage) with only the session cookie
    const context = await browser.newContext({ locale: 'fa-IR' });
    // as the browser holds it (host 127.0.0.1, path /, Secure, HttpOnly, SameSite=Lax)
    await context.addCookies([session]);
    const traffic = new Traffic();
    const swScriptFetches = [];
    context.on('request', (request) => {
      if (new URL(request.url()).pathname === '/desk/sw.js') swScriptFetches.push(traffic.phase);
    });

    // the service worker's own target, whenever Chromium starts one
    const browserSession = await browser.newBrowserCDPSession();
    let nextId = 1;
    const workers = new Map();
    let workerAttached;
    const workerReady = new Promise((resolve) => { workerAttached = resolve; });
    const pending = new Map();
    browserSession.on('Target.receivedMessageFromTarget', ({ sessionId, message }) => {
      const parsed = JSON.parse(message);
      if (parsed.id && pending.has(parsed.id)) { pending.get(parsed.id)(parsed); pending.delete(parsed.id); }
      if (parsed.method?.startsWith('Network.')) traffic.record(`worker:${workers.get(sessionId)}`, parsed.method, parsed.params);
    });
    const toTarget = (sessionId, method, params = {}) => {
      const id = nextId++;
      const answered = new Promise((resolve) => pending.set(id, resolve));
      browserSession.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
      return answered;
    };
    browserSession.on('Target.targetCreated', async ({ targetInfo }) => {
      if (targetInfo.type !== 'service_worker' || !targetInfo.url.startsWith(staffUrl())) return;
      try {
        const { sessionId } = await browserSession.send('Target.attachToTarget', { targetId: targetInfo.targetId, flatten: false });
        workers.set(sessionId, shortUrl(targetInfo.url));
        await toTarget(sessionId, 'Network.enable');
        workerAttached(targetInfo.url);
      } catch (error) {
        say(`page bytes: could not attach to the service worker: ${error.message}`);
      }
    });
    await browserSession.send('Target.setDiscoverTargets', { discover: true });

    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    for (const method of ['Network.requestWillBeSent', 'Network.requestServedFromCache', 'Network.responseReceived',
      'Network.loadingFinished', 'Network.loadingFailed']) {
      cdp.on(method, (params) => traffic.record('page', method, params));
    }
    await cdp.send('Network.enable');
    // belt and braces: the context is new, so its cache is empty already
    await cdp.send('Network.clearBrowserCache');

    const settle = async () => {
      await page.waitForLoadState('load');
      await page.waitForLoadState('networkidle');
      await page.waitForTimeout(1000);
    };

    say('page bytes: first visit of the walk-in page (empty cache)');
    traffic.phase = 'first';
    await page.goto(walkInUrl);
    if (!page.url().startsWith(walkInUrl)) throw new Error(`the copied session was not accepted: the walk-in page went to ${page.url()}`);
    await page.getByLabel('کد ملی').waitFor();
    await settle();
    // the page registers the desk's service worker; it takes control (clients.claim) before the next visit
    const controlled = await page.evaluate(async () => {
      if (!('serviceWorker' in navigator)) return false;
      await navigator.serviceWorker.ready;
      for (let i = 0; i < 50 && !navigator.serviceWorker.controller; i += 1) await new Promise((r) => setTimeout(r, 100));
      return Boolean(navigator.serviceWorker.controller);
    });
    const workerUrl = await Promise.race([workerReady, sleep(5000).then(() => null)]);
    await settle();
    traffic.phase = null;

    say(`page bytes: repeat visit (warm cache; service worker ${controlled ? 'in control' : 'NOT in control'}${workerUrl ? ', its target attached' : ''})`);
    traffic.phase = 'repeat';
    await page.goto(walkInUrl);
    await page.getByLabel('کد ملی').waitFor();
    await settle();
    traffic.phase = null;

    // the worker's script is fetched by Chromium's registration job, which no target's
    // Network domain reports; Playwright sees the request, so its size is added as served
    const swScriptBytes = await answerSize(`${staffUrl()}/desk/sw.js`, { 'accept-encoding': 'gzip, deflate, br, zstd' });
    const visit = (phase) => {
      // the worker's own script is counted once, at its served size, for every fetch Playwright saw:
      // CDP reports it at most partly (headers only, and only when the worker's target was attached in time)
      const all = traffic.of(phase).items;
      const items = all.filter((r) => shortUrl(r.url) !== '/desk/sw.js');
      const bytes = items.reduce((sum, r) => sum + (r.bytes ?? 0), 0);
      const scriptFetches = swScriptFetches.filter((p) => p === phase).length;
      const total = bytes + scriptFetches * swScriptBytes;
      return {
        bytes: total,
        kb: round(total / 1024),
        requests: items.length + scriptFetches,
        from_http_cache: items.filter((r) => r.from_disk_cache || r.from_memory_cache).length,
        from_service_worker: items.filter((r) => r.from_service_worker).length,
        items: [
          ...items.map((r) => ({
            target: r.target,
            url: shortUrl(r.url),
            status: r.status,
            bytes: r.bytes ?? 0,
            ...(r.encoding ? { encoding: r.encoding } : {}),
            ...(r.from_disk_cache || r.from_memory_cache ? { from_http_cache: true } : {}),
            ...(r.from_service_worker ? { from_service_worker: true } : {}),
            ...(r.failed ? { failed: r.failed } : {}),
          })),
          ...Array.from({ length: scriptFetches }, () => ({
            target: 'registration', url: '/desk/sw.js', bytes: swScriptBytes, note: 'size as served (not reported by CDP)',
          })),
        ],
      };
    };
    const first = visit('first');
    const repeat = visit('repeat');
    await context.close();
    say(`page bytes: first visit ${first.kb} KB in ${first.requests} requests (${first.from_http_cache} from cache), ` +
      `repeat ${repeat.kb} KB in ${repeat.requests} requests`);
    if (first.from_http_cache > 0) say('page bytes: WARNING: the first visit was served partly from cache');
    return {
      first_visit: first,
      repeat_visit: repeat,
      service_worker_controlled_repeat: controlled,
      service_worker_target_attached: Boolean(workerUrl),
      chromium: browser.version(),
      method: 'Chromium via playwright-core; signed in in one context, then the session cookie alone copied into a fresh ' +
        'context (empty HTTP cache, no service worker) whose cache is also cleared with CDP Network.clearBrowserCache; ' +
        'bytes = sum of CDP Network.loadingFinished.encodedDataLength (response headers + body as received) over the page ' +
        'target and the service-worker target, from navigation until the network is idle for 1.5 s; the worker script ' +
        '(fetched by the registration job, which CDP reports at most partly) is counted at its served size for each fetch ' +
        'Playwright saw. Repeat visit: the same page navigates to the walk-in page again with the HTTP cache warm and the service ' +
        'worker in control.',
    };
  } finally {
    await browser.close();
  }
}

// --- the report -------------------------------------------------------------------

function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    memory_gib: round(os.totalmem() / 1024 ** 3),
    kernel: os.release(),
    node: process.version,
    // other work on the machine shows here: the figures are only comparable when this is low
    load_average_at_start: os.loadavg().map((x) => round(x, 2)),
    // the load generator's scheduling group (bench-web.sh starts it in a session of its own)
    load_generator_autogroup: (() => { try { return readFileSync('/proc/self/autogroup', 'utf8').trim(); } catch { return null; } })(),
    sched_autogroup: (() => { try { return readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1'; } catch { return null; } })(),
  };
}

async function main() {
  say(`settings: ${JSON.stringify(SETTINGS)}; measuring ${[...ONLY].join(', ')}`);
  const [load1] = os.loadavg();
  if (load1 > os.cpus().length) {
    say(`WARNING: load average ${load1.toFixed(1)} on ${os.cpus().length} CPUs before the run: other work competes with the services`);
  }
  const result = {
    walk_in_p99_ms: null,
    track_p99_ms: null,
    first_visit_kb: null,
    repeat_visit_kb: null,
    targets: TARGETS,
    met: {},
    walk_in: null,
    track: null,
    page_bytes: null,
    machine: machine(),
    settings: {
      ...SETTINGS,
      intake_limits: (process.env.PASOKH_RUN_INTAKE_TOML || '').trim() || null,
      web: `${staffUrl()} (desk), ${publicUrl()} (citizen site)`,
      desk_event: env.deskEvent,
      note: 'load generator (Node), Chromium, web, intake ×2, routing, notification, reporting, PostgreSQL, Kafka and Keycloak share this machine',
    },
    date: new Date().toISOString(),
  };
  const failures = [];
  const attempt = async (name, run) => {
    if (!ONLY.has(name)) return null;
    try {
      return await run();
    } catch (error) {
      say(`${name} failed: ${error.stack ?? error}`);
      failures.push(name);
      return { failed: String(error.message ?? error) };
    }
  };
  result.walk_in = await attempt('walk_in', walkIns);
  result.walk_in_p99_ms = result.walk_in?.p99_ms ?? null;
  result.track = await attempt('track', tracking);
  result.track_p99_ms = result.track?.p99_ms ?? null;
  result.page_bytes = await attempt('bytes', pageBytes);
  result.first_visit_kb = result.page_bytes?.first_visit?.kb ?? null;
  result.repeat_visit_kb = result.page_bytes?.repeat_visit?.kb ?? null;
  for (const [key, target] of Object.entries(TARGETS)) {
    if (result[key] === null) continue;
    result.met[key] = key.endsWith('_ms') ? result[key] < target : result[key] <= target;
  }
  await mkdir(path.dirname(OUT), { recursive: true });
  await writeFile(OUT, `${JSON.stringify(result, null, 2)}\n`);
  const headline = Object.fromEntries(Object.keys(TARGETS).map((k) => [k, result[k]]));
  console.log(JSON.stringify({ ...headline, met: result.met }));
  say(`results in ${path.relative(ROOT, OUT)}`);
  if (failures.length > 0) {
    say(`not measured: ${failures.join(', ')}`);
    process.exit(1);
  }
}

await main();

// What the scenarios share: where the running system is (exported by
// `scripts/run.sh --then`), citizens with valid national ids, and the
// intake database to prove what was (and was not) stored.
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests through scripts/browser-test.sh`);
  return value;
}

export const env = {
  get publicUrl() { return required('PASOKH_WEB_PUBLIC_URL'); },
  get staffUrl() { return required('PASOKH_WEB_STAFF_URL'); },
  get deskEvent() { return required('PASOKH_DESK_EVENT'); },
  get intakeDb() { return required('PASOKH_PG_URL_INTAKE'); },
  get intakeUrl() { return required('PASOKH_INTAKE_URL_IR23'); },
  get reportingUrl() { return required('PASOKH_REPORTING_URL'); },
  get issuer() { return required('PASOKH_ISSUER'); },
  get binDir() { return required('PASOKH_BIN_DIR'); },
  get kafkaBrokers() { return required('PASOKH_KAFKA_BROKERS'); },
  get lifecycleTopic() { return required('PASOKH_LIFECYCLE_TOPIC'); },
};

/** A demo member of staff's access token from the real provider (pasokhctl's direct grant). */
export async function staffToken(user, password = 'pasokh-demo') {
  const response = await fetch(`${env.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: 'pasokhctl', username: user, password, scope: 'openid' }),
  });
  if (!response.ok) throw new Error(`token for ${user}: ${response.status} ${await response.text()}`);
  return (await response.json()).access_token;
}

/** A JSON call to a service's HTTP API with a bearer token; answers { status, body }. */
export async function api(method, url, token, body, headers = {}) {
  const response = await fetch(url, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: response.status, body: parsed };
}

/** Files a petition at Tehran's intake over its public API; answers intake's receipt. */
export async function filePetition({ category = 'pension-payment', text, citizen = { nationalId: nationalId(), mobile: mobile() } }) {
  const { status, body } = await api('POST', `${env.intakeUrl}/v1/petitions`, null, {
    national_id: citizen.nationalId, mobile: citizen.mobile, category, kind: 'complaint', channel: 'web', text,
  });
  if (status !== 201) throw new Error(`filing failed: ${status} ${JSON.stringify(body)}`);
  return { ...body, citizen };
}

/** A valid national id (mod-11 check digit), different on every call. */
export function nationalId() {
  for (;;) {
    const digits = Array.from({ length: 9 }, () => randomInt(10));
    if (digits.every((d) => d === digits[0])) continue;
    const sum = digits.reduce((acc, d, i) => acc + d * (10 - i), 0) % 11;
    return [...digits, sum < 2 ? sum : 11 - sum].join('');
  }
}

/** A mobile number nobody else in this run uses (rate limits are per mobile). */
export function mobile() {
  return `0912${String(randomInt(10_000_000)).padStart(7, '0')}`;
}

const PERSIAN = '۰۱۲۳۴۵۶۷۸۹';
export function persianDigits(text) {
  return String(text).replace(/[0-9]/g, (d) => PERSIAN[Number(d)]);
}
export function asciiDigits(text) {
  return String(text).replace(/[۰-۹]/g, (d) => String(PERSIAN.indexOf(d)));
}

/** One value from intake's database, e.g. a count; `:'p1'`… in `sql` are the quoted `params`. */
export function intakeScalar(sql, ...params) {
  return scalar(env.intakeDb, sql, params);
}

/** One value from routing's database (its cases), next to intake's on the same server. */
export function routingScalar(sql, ...params) {
  return scalar(env.intakeDb.replace(/intake$/, 'routing'), sql, params);
}

/** One value from the web's own database (its sessions and one-time codes). */
export function webScalar(sql, ...params) {
  return scalar(env.intakeDb.replace(/intake$/, 'web'), sql, params);
}

/** The messages the SMS gateway sink received for `mobile` (ASCII digits), oldest first. */
export async function smsTo(mobile) {
  const response = await fetch(`${required('PASOKH_SMS_URL')}/messages`);
  const all = await response.json();
  return all.filter((m) => m.to === mobile);
}

function scalar(database, sql, params) {
  const args = [database, '-qAt', '-v', 'ON_ERROR_STOP=1'];
  params.forEach((p, i) => args.push('-v', `p${i + 1}=${p}`));
  // variables are interpolated in psql's input, not in -c
  return execFileSync('psql', args, { encoding: 'utf8', input: `${sql};\n` }).trim();
}

/** Signs in at the provider's own page as a demo member of staff. */
export async function signIn(page, user, password = 'pasokh-demo') {
  await page.locator('#username').fill(user);
  await page.locator('#password').fill(password);
  await page.locator('#kc-login').click();
}

/** Polls `check` until it returns a truthy value or `seconds` pass. */
export async function eventually(seconds, what, check) {
  const deadline = Date.now() + seconds * 1000;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: not within ${seconds} s (last: ${last})`);
}

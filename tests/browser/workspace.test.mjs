// The case officer's workspace and the supervision dashboards in a real
// browser, against the whole system: officers sign in at the real provider,
// routing scopes what they see, reporting's numbers reach the dashboards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { launch, checkAccessibility, screenshot } from './lib/browser.mjs';
import {
  env, nationalId, mobile, asciiDigits, persianDigits, routingScalar, signIn, eventually, staffToken, api, filePetition,
} from './lib/pasokh.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function staffPage(user, path) {
  const context = await browser.newContext({ locale: 'fa-IR' });
  const page = await context.newPage();
  await page.goto(`${env.staffUrl}${path}`);
  await signIn(page, user);
  await page.waitForURL((url) => url.href.startsWith(env.staffUrl));
  return { context, page };
}

/** Waits until routing has the case of this tracking code; answers its petition id. */
async function routed(trackingCode) {
  return eventually(30, `case ${trackingCode} routed`, () =>
    routingScalar(`SELECT petition_id FROM cases WHERE tracking_code = :'p1' AND status <> 'submitted'`, trackingCode));
}

/** The citizen's status page on the public site, by tracking code and mobile. */
async function citizenStatus(page, filed) {
  await page.goto(`${env.publicUrl}/track`);
  await page.getByLabel('کد رهگیری').fill(filed.tracking_code);
  await page.getByLabel('شمارهٔ همراه').fill(filed.citizen.mobile);
  await page.getByRole('button', { name: 'پیگیری' }).click();
  await page.getByRole('heading', { name: /وضعیت درخواست/ }).waitFor();
}

/** Reloads the case page until its status reads `label`. */
async function caseStatusBecomes(page, label) {
  await eventually(30, `the case page says ${label}`, async () => {
    await page.reload();
    return (await page.locator('dl.summary dd').first().innerText()).includes(label);
  });
}

test('an officer answers from the queue with a template after asking the citizen; a poor rating reaches the director', async () => {
  const filed = await filePetition({ text: 'مستمری آبان ماه پدرم هنوز واریز نشده و شعبه پاسخی نمی‌دهد' });
  const id = await routed(filed.tracking_code);
  const { context, page } = await staffPage('officer-sso-tehran', '/cases');
  await page.getByRole('heading', { name: 'کارتابل پرونده‌ها' }).waitFor();

  // the queue is in badge order: the earliest due first, each with its SLA badge
  const dueOrder = await page.locator('table.queue tbody tr').evaluateAll((rows) =>
    rows.map((r) => r.querySelector('input[name=cases]')?.value).filter(Boolean));
  assert.ok(dueOrder.length >= 1);
  const dues = routingScalar(
    `SELECT string_agg(petition_id::text, ',' ORDER BY resolution_due, petition_id) FROM cases
     WHERE organisation = 'sso' AND province = 'IR-23' AND status IN ('routed','acknowledged','in_progress','info_requested','reopened')`,
  ).split(',').slice(0, dueOrder.length);
  assert.deepEqual(dueOrder.map((v) => v.split(':')[0]), dues, 'the queue follows the resolution due dates');
  const row = page.locator('tr', { has: page.getByRole('link', { name: persianDigits(filed.tracking_code) }) });
  assert.equal(await row.locator('.badge').innerText(), 'در مهلت');
  assert.match(await row.locator('.days').innerText(), /[۰-۹]+ روز کاری مانده/);
  await checkAccessibility(page, 'queue');
  await screenshot(page, 'officer-queue');

  // the case page: the petition, the rule that chose the unit, the Jalali timeline
  await row.getByRole('link', { name: persianDigits(filed.tracking_code) }).click();
  await page.getByRole('heading', { name: /پروندهٔ/ }).waitFor();
  assert.ok(await page.getByText('مستمری آبان ماه پدرم').isVisible(), 'the petition as the citizen wrote it');
  assert.match(await page.locator('ol.timeline').last().innerText(), /ارجاع به واحد \| [۰-۹]{4}\/[۰-۹]{2}\/[۰-۹]{2}/);
  await page.getByRole('button', { name: 'تأیید دریافت' }).click();
  await page.getByText('دریافت پرونده تأیید شد.').waitFor();

  // a question without words is refused beside the field; then the question goes to the citizen
  await page.getByRole('button', { name: 'پرسش از شهروند' }).click();
  await page.getByText('متنی بنویسید که شهروند بخواند.').first().waitFor();
  assert.equal(await page.locator('#message').getAttribute('aria-invalid'), 'true');
  const question = 'لطفاً شمارهٔ حساب و شعبهٔ بانک را بنویسید';
  await page.locator('#message').fill(question);
  await page.getByRole('button', { name: 'پرسش از شهروند' }).click();
  await page.getByText('پرسش برای شهروند فرستاده شد.').waitFor();
  await checkAccessibility(page, 'case page');
  await screenshot(page, 'officer-case');

  // the citizen answers on the public site
  const citizen = await browser.newContext({ locale: 'fa-IR' });
  const site = await citizen.newPage();
  await citizenStatus(site, filed);
  assert.ok(await site.getByText(question).isVisible(), 'the citizen reads the question');
  await site.getByLabel('پاسخ شما').fill('حساب ۱۲۳۴۵ بانک رفاه شعبهٔ مرکزی');
  await site.getByRole('button', { name: 'فرستادن پاسخ' }).click();
  await site.getByRole('status').waitFor();

  // the officer responds with the organisation's template, filled in, then edited
  await caseStatusBecomes(page, 'در حال رسیدگی');
  await page.getByLabel(/متن نمونه/).selectOption('sso-pension-paid');
  await page.getByRole('button', { name: 'درج متن نمونه' }).click();
  const drafted = await page.locator('#message').inputValue();
  assert.ok(drafted.includes(persianDigits(filed.tracking_code)), `the template names the petition: ${drafted}`);
  assert.ok(!drafted.includes('{'), 'every placeholder is filled');
  await page.locator('#message').fill(`${drafted} با پوزش از تأخیر.`);
  await page.getByRole('button', { name: 'فرستادن پاسخ' }).click();
  await page.getByText('پاسخ برای شهروند فرستاده شد.').waitFor();
  assert.equal(routingScalar(`SELECT status FROM cases WHERE petition_id = :'p1'`, id), 'responded');

  // the citizen rates the answer poorly: the appeal lands in the provincial director's queue
  await eventually(30, 'the rating form', async () => {
    await citizenStatus(site, filed);
    return site.getByRole('button', { name: 'ثبت امتیاز' }).isVisible();
  });
  await site.getByRole('radio', { name: /خیلی بد/ }).check();
  await site.getByRole('button', { name: 'ثبت امتیاز' }).click();
  await site.getByRole('status').waitFor();
  await eventually(30, 'the appeal reopened the case', () =>
    routingScalar(`SELECT status FROM cases WHERE petition_id = :'p1'`, id) === 'reopened');
  const director = await staffPage('supervisor-tehran', '/cases?escalated=yes');
  const appealed = director.page.locator('tr', { has: director.page.getByRole('link', { name: persianDigits(filed.tracking_code) }) });
  await appealed.waitFor();
  assert.match(await appealed.innerText(), /بازگشایی/);
  await checkAccessibility(director.page, 'director queue');
  await Promise.all([context.close(), citizen.close(), director.context.close()]);
});

test('two officers act on the same case: the second sees what changed, and nothing is lost', async () => {
  const filed = await filePetition({ text: 'سابقهٔ بیمهٔ سه سال کار من در کارگاه خیاطی ثبت نشده است', category: 'insurance-record' });
  const id = await routed(filed.tracking_code);
  const first = await staffPage('officer-sso-tehran', `/cases/${id}`);
  const second = await staffPage('officer-sso-tehran-2', `/cases/${id}`);
  // the second officer is told who else has the case open
  assert.match(await second.page.getByRole('status').first().innerText(), /نرگس کریمی|officer-sso-tehran/);

  await first.page.getByRole('button', { name: 'تأیید دریافت' }).click();
  await first.page.getByText('دریافت پرونده تأیید شد.').waitFor();

  // the second, on the version they opened, announces an expected date: refused, their words kept
  await second.page.getByText('اعلام تاریخ پاسخ').click();
  const reason = 'پرونده به استعلام از کارگاه نیاز دارد';
  await second.page.getByLabel('تاریخ پاسخ').fill('1405/12/20');
  await second.page.getByLabel('دلیل، برای شهروند').fill(reason);
  await second.page.getByRole('button', { name: 'اعلام تاریخ' }).click();
  await second.page.getByRole('heading', { name: 'تغییرهای تازهٔ پرونده' }).waitFor();
  assert.match(await second.page.locator('.conflict').innerText(), /تأیید دریافت/);
  assert.equal(await second.page.getByLabel('دلیل، برای شهروند').inputValue(), reason, 'what the officer typed is kept');
  assert.equal(routingScalar(`SELECT count(*) FROM case_history WHERE petition_id = :'p1' AND action = 'expected date set'`, id), '0');
  await checkAccessibility(second.page, 'conflict');

  // having seen the change, the second officer sends it again: now it is recorded, once
  await second.page.getByRole('button', { name: 'اعلام تاریخ' }).click();
  await second.page.getByText('تاریخ پاسخ و دلیل آن برای شهروند فرستاده شد.').waitFor();
  assert.equal(routingScalar(`SELECT count(*) FROM case_history WHERE petition_id = :'p1' AND action = 'acknowledged'`, id), '1');
  assert.equal(routingScalar(`SELECT interim_reason FROM cases WHERE petition_id = :'p1'`, id), reason);
  await Promise.all([first.context.close(), second.context.close()]);
});

test('officers of another organisation or province get the not-found page, not the case', async () => {
  const text = 'مستمری بازنشستگی من از مهر ماه قطع شده است';
  const filed = await filePetition({ text });
  const id = await routed(filed.tracking_code);
  for (const user of ['officer-welfare-tehran', 'officer-sso-qom']) {
    const { context, page } = await staffPage(user, `/cases/${id}`);
    const response = await page.reload();
    assert.equal(response.status(), 404, user);
    assert.ok(!(await page.content()).includes(text), `${user} sees none of the petition`);
    await checkAccessibility(page, `not found for ${user}`);
    await context.close();
  }
});

test('bulk: one reply answers several similar cases', async () => {
  const cases = [];
  for (const n of [1, 2]) {
    const filed = await filePetition({ text: `مستمری دی ماه واریز نشده است؛ پیگیری شمارهٔ ${n} از شهروندی دیگر`, category: 'medical-coverage' });
    cases.push(await routed(filed.tracking_code));
  }
  const { context, page } = await staffPage('officer-sso-tehran', '/cases?category=medical-coverage');
  // nothing selected: a sentence beside the selection, nothing done
  await page.getByRole('button', { name: 'تأیید دریافت' }).click();
  await page.getByText('دست‌کم یک پرونده را انتخاب کنید.').first().waitFor();
  for (const id of cases) await page.locator(`#select-${id}`).check();
  await page.getByRole('button', { name: 'تأیید دریافت' }).click();
  assert.match(await page.getByRole('status').innerText(), /۲ پرونده تأیید دریافت شد/);
  for (const id of cases) await page.locator(`#select-${id}`).check();
  await page.locator('.bulk #message').fill('پوشش درمانی شما برقرار شد.');
  await page.getByRole('button', { name: 'پاسخ به همه' }).click();
  assert.match(await page.getByRole('status').innerText(), /۲ پرونده پاسخ داده شد/);
  for (const id of cases) assert.equal(routingScalar(`SELECT status FROM cases WHERE petition_id = :'p1'`, id), 'responded');
  await context.close();
});

test('the desk event report prints on one A4 page, promises and their follow-up included', async () => {
  const operator = await staffToken('operator-tehran');
  const walkIn = await api('POST', `${env.intakeUrl}/v1/desk-events/${env.deskEvent}/petitions`, operator, {
    national_id: nationalId(), mobile: mobile(), category: 'pension-payment', text: 'مستمری من دو ماه است واریز نشده است',
  }, { 'idempotency-key': crypto.randomUUID() });
  assert.equal(walkIn.status, 201, JSON.stringify(walkIn.body));
  const due = new Date(Date.now() + 10 * 86400e3).toISOString().slice(0, 10);
  const meeting = await api('POST', `${env.intakeUrl}/v1/desk-events/${env.deskEvent}/meetings`, operator, {
    official_name: 'دکتر محمدی', official_title: 'مدیرکل تأمین اجتماعی', organisation: 'sso',
    tracking_code: walkIn.body.tracking_code, notes: 'پیگیری مستمری', promise: 'واریز معوقات تا ده روز دیگر', promise_due: due,
  }, { 'idempotency-key': crypto.randomUUID() });
  assert.equal(meeting.status, 201, JSON.stringify(meeting.body));

  // the promise reaches the SSO unit's queue with its due day
  const officer = await staffPage('officer-sso-tehran', '/cases?promise=yes');
  const promised = officer.page.locator('tr', { has: officer.page.getByRole('link', { name: persianDigits(walkIn.body.tracking_code) }) });
  await eventually(30, 'the promise in the queue', async () => {
    await officer.page.reload();
    return promised.isVisible();
  });
  assert.match(await promised.locator('.tag.promise').innerText(), /قول سازمان تأمین اجتماعی تا [۰-۹]{4}\/[۰-۹]{2}\/[۰-۹]{2}/);
  await officer.context.close();

  const { context, page } = await staffPage('inspector-hq', `/desk-events/${env.deskEvent}/report`);
  await eventually(30, 'the report counts the meeting', async () => {
    await page.reload();
    return (await page.locator('.promise-pending').count()) > 0;
  });
  assert.match(await page.locator('h1').innerText(), /نماز جمعه تهران/);
  await checkAccessibility(page, 'event report');
  await page.emulateMedia({ media: 'print' });
  await screenshot(page, 'desk-event-report-print');
  const pdf = await page.pdf({ format: 'A4', preferCSSPageSize: true });
  const pages = pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? [];
  assert.equal(pages.length, 1, 'the minister\'s office gets one A4 page');
  await context.close();
});

test('HQ watches the desks open now: a walk-in shows on the live view within 2 seconds', async () => {
  const { context, page } = await staffPage('inspector-hq', '/live');
  const row = page.locator(`tr[data-event="${env.deskEvent}"]`);
  await row.waitFor();
  const served = async () => Number(asciiDigits(await row.locator('td[data-live=served]').innerText()));
  // settle: earlier scenarios' walk-ins have all arrived
  let before = await served();
  await eventually(30, 'the count settles', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const now = await served();
    const settled = now === before;
    before = now;
    return settled;
  });
  await checkAccessibility(page, 'live view');
  await screenshot(page, 'hq-live');
  const operator = await staffToken('operator-tehran');
  const registered = Date.now();
  const walkIn = await api('POST', `${env.intakeUrl}/v1/desk-events/${env.deskEvent}/petitions`, operator, {
    national_id: nationalId(), mobile: mobile(), category: 'civil-pension', text: 'حکم بازنشستگی من هنوز صادر نشده است',
  }, { 'idempotency-key': crypto.randomUUID() });
  assert.equal(walkIn.status, 201);
  await eventually(2, 'the walk-in on the live view', async () => (await served()) === before + 1);
  console.log(`live view updated ${Date.now() - registered} ms after the walk-in was registered`);
  await context.close();
});

// Last: the scripted decade's events are foreign to routing and notification, which dead-letter them;
// the scenarios above must not queue behind them.
const FAJR_1404 = { start: '2026-01-31T20:30:00Z', petitions: 600 };

test('the HQ dashboard for a scripted Fajr decade shows the ranking and numbers reporting answers', async () => {
  // a Fajr decade (12–22 Bahman 1404) of petitions, published as intake and routing would
  execFileSync(`${env.binDir}/pasokh-lifecycle-gen`, [
    '--brokers', env.kafkaBrokers, '--topic', env.lifecycleTopic, '--petitions', String(FAJR_1404.petitions),
    '--duplicates-percent', '3', '--start', FAJR_1404.start, '--span-hours', '250',
  ], { encoding: 'utf8' });
  const token = await staffToken('inspector-hq');
  const query = 'period=fajr&date=1404/11/15';
  const indicators = await eventually(60, 'reporting counted the decade', async () => {
    const { body } = await api('GET', `${env.reportingUrl}/v1/indicators?${query}`, token);
    return body?.indicators?.volume === FAJR_1404.petitions ? body : null;
  });
  const { body: ranking } = await api('GET', `${env.reportingUrl}/v1/ranking?${query}&of=province`, token);

  const { context, page } = await staffPage('inspector-hq', `/dashboard?${query}`);
  await page.getByRole('heading', { name: 'داشبورد نظارت' }).waitFor();
  const card = async (label) =>
    asciiDigits(await page.locator('.cards.indicators li', { hasText: label }).first().locator('strong').innerText());
  assert.equal(await card('درخواست‌های ثبت‌شده'), String(indicators.indicators.volume));
  assert.equal(await card('هنوز باز'), String(indicators.indicators.backlog));
  const mean = indicators.indicators.satisfaction_mean;
  assert.equal(await card('میانگین رضایت'), mean === null ? '—' : mean.toFixed(2));
  // the ranking: the same provinces, in the same order, with the same volumes, group by group
  const shown = await page.locator('table.ranking[id^=provinces] tbody tr').evaluateAll((rows) =>
    rows.map((r) => [r.dataset.code, r.cells[2].innerText.trim()]));
  const expected = [...ranking.groups.flatMap((g) => g.entries), ...ranking.unranked].map((e) => [e.code, persianDigits(e.volume)]);
  assert.deepEqual(shown, expected);
  assert.ok(expected.length >= 6, 'six provinces in the scripted decade');
  // the trend is an SVG drawn on the server, one bar per day of the decade
  assert.equal(await page.locator('figure.chart svg').first().locator('rect').count(), 11);
  // every table downloads as CSV
  const csv = await page.request.get(`${env.staffUrl}/dashboard.csv?${query}&table=provinces`);
  assert.equal(csv.headers()['content-type'], 'text/csv; charset=utf-8');
  assert.equal((await csv.text()).trim().split('\n').length, expected.length + 1);
  await checkAccessibility(page, 'dashboard');
  await screenshot(page, 'hq-dashboard');

  // a period reporting refuses is a Persian sentence beside the field, what was typed kept
  await page.goto(`${env.staffUrl}/dashboard?period=custom&from=1404/13/01&to=1404/11/22`);
  assert.equal(await page.getByLabel('از (بازهٔ دلخواه)').inputValue(), '1404/13/01');
  assert.ok(await page.locator('.field.invalid').first().isVisible());
  await checkAccessibility(page, 'dashboard error');
  await context.close();
});

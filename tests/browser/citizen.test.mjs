// The citizen's site in a real browser (Debian's chromium), against the whole
// running system: intake, routing, notification, Kafka, PostgreSQL.
import { test, before, after } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { launch, checkAccessibility, screenshot } from './lib/browser.mjs';
import { env, nationalId, mobile, asciiDigits, persianDigits, intakeScalar, eventually } from './lib/pasokh.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function newPage(options = {}) {
  const context = await browser.newContext({ locale: 'fa-IR', ...options });
  return { context, page: await context.newPage() };
}

async function fillPetition(page, citizen, text) {
  await page.getByLabel('موضوع درخواست').selectOption('pension-payment');
  await page.getByRole('radio', { name: 'شکایت' }).check();
  await page.getByLabel('استان').selectOption('IR-23');
  await page.getByLabel('کد ملی').fill(citizen.nationalId);
  await page.getByLabel('شمارهٔ همراه').fill(citizen.mobile);
  await page.getByLabel('متن درخواست').fill(text);
}

test('a citizen files, gets a receipt, and tracks the petition until it is routed', async () => {
  const { context, page } = await newPage();
  const missing = [];
  page.on('response', (r) => { if (r.status() === 404) missing.push(r.url()); });
  await page.goto(env.publicUrl);
  assert.equal(await page.locator('html').getAttribute('dir'), 'rtl');
  assert.equal(await page.locator('html').getAttribute('lang'), 'fa');
  await checkAccessibility(page, 'home');
  await screenshot(page, 'citizen-home');

  await page.getByRole('link', { name: 'ثبت درخواست تازه' }).click();
  await checkAccessibility(page, 'petition form');
  // Persian digits are accepted in every input
  const citizen = { nationalId: persianDigits(nationalId()), mobile: persianDigits(mobile()) };
  const text = `مستمری آذر ماه من واریز نشده است ${Date.now()}`;
  await fillPetition(page, { ...citizen, nationalId: '0499370898' }, 'کوتاه');
  await page.getByRole('button', { name: 'ثبت درخواست' }).click();

  // refused: Persian sentences beside the fields, tied to them, nothing typed is lost
  const summary = page.getByRole('alert');
  await summary.waitFor();
  assert.match(await summary.innerText(), /کد ملی درست نیست/);
  const idField = page.getByLabel('کد ملی');
  assert.equal(await idField.getAttribute('aria-invalid'), 'true');
  const describedBy = await idField.getAttribute('aria-describedby');
  assert.match(await page.locator(`#${describedBy.split(' ').pop()}`).innerText(), /کد ملی درست نیست/);
  assert.equal(await page.getByLabel('متن درخواست').inputValue(), 'کوتاه');
  assert.equal(await page.getByLabel('شمارهٔ همراه').inputValue(), citizen.mobile);
  assert.equal(await page.getByLabel('استان').inputValue(), 'IR-23');
  await checkAccessibility(page, 'petition form with errors');
  await screenshot(page, 'citizen-form-errors');

  await page.getByLabel('کد ملی').fill(citizen.nationalId);
  await page.getByLabel('متن درخواست').fill(text);
  // a scanned letter as attachment metadata: the page computes its SHA-256
  const letter = Buffer.from('%PDF-1.4 نامهٔ صندوق بازنشستگی');
  await page.getByLabel('پیوست (اختیاری)').setInputFiles({ name: 'نامه.pdf', mimeType: 'application/pdf', buffer: letter });
  const checksum = `sha256:${createHash('sha256').update(letter).digest('hex')}`;
  await page.waitForFunction((expected) => document.querySelector('input[name=attachment_checksum]').value === expected, checksum);
  await page.getByRole('button', { name: 'ثبت درخواست' }).click();
  await page.getByRole('heading', { name: 'درخواست شما ثبت شد' }).waitFor();
  await checkAccessibility(page, 'receipt');
  await screenshot(page, 'citizen-receipt');
  const shownCode = await page.locator('.panel .code bdi').innerText();
  assert.match(shownCode, /^[۰-۹]{12}$/, 'the tracking code is shown in Persian digits');
  const code = asciiDigits(shownCode);
  assert.ok(await page.getByRole('img', { name: /کد رهگیری/ }).isVisible(), 'the QR code is named');
  assert.equal(intakeScalar(`SELECT count(*) FROM petitions WHERE tracking_code = :'p1' AND channel = 'web'`, code), '1');
  assert.equal(
    intakeScalar(`SELECT attachments->0->>'name' || '|' || (attachments->0->>'checksum') FROM petitions WHERE tracking_code = :'p1'`, code),
    `نامه.pdf|${checksum}`,
  );

  // track by code + mobile, sent in a POST body: the URL never carries the mobile
  await page.getByRole('link', { name: 'درخواست را پیگیری کنید' }).click();
  await checkAccessibility(page, 'track form');
  const routed = await eventually(60, 'the petition is routed', async () => {
    await page.goto(`${env.publicUrl}/track`);
    await page.getByLabel('کد رهگیری').fill(code);
    await page.getByLabel('شمارهٔ همراه').fill(citizen.mobile);
    await page.getByRole('button', { name: 'پیگیری' }).click();
    await page.getByRole('heading', { name: /وضعیت درخواست/ }).waitFor();
    return (await page.locator('dl.summary').innerText()).includes('ارجاع شده به واحد رسیدگی');
  });
  assert.ok(routed);
  assert.ok(!page.url().includes(asciiDigits(citizen.mobile)), 'the mobile stays out of the URL');
  assert.match(await page.locator('dl.summary').innerText(), /سازمان تامین اجتماعی|تأمین اجتماعی/);
  assert.match(await page.locator('dl.summary').innerText(), /واحد رسیدگی/, 'the unit handling it is named');
  // the timeline, oldest first, in Jalali dates
  const steps = await page.locator('ol.timeline > li').allInnerTexts();
  assert.match(steps[0], /درخواست ثبت شد/);
  assert.ok(steps.some((s) => /به واحد رسیدگی ارجاع شد/.test(s)), steps.join(' | '));
  assert.match(steps[0], /(فروردین|اردیبهشت|خرداد|تیر|مرداد|شهریور|مهر|آبان|آذر|دی|بهمن|اسفند) [۰-۹]{4}/);
  await checkAccessibility(page, 'status');
  await screenshot(page, 'citizen-status');
  assert.deepEqual(missing, [], 'every page found all it asked for');
  await context.close();
});

test('a double-clicked submit files one petition', async () => {
  const { context, page } = await newPage();
  await page.goto(`${env.publicUrl}/petitions/new`);
  const text = `درخواست با دوبار کلیک ${Date.now()}`;
  await fillPetition(page, { nationalId: nationalId(), mobile: mobile() }, text);
  // Chromium itself keeps only the last of two quick submissions, so both are sent from the page
  // as a slow network lets them through: the same form, cookie and Idempotency-Key, at once
  const codes = await page.locator('form[action="/petitions"]').evaluate(async (form) => {
    const body = new URLSearchParams(new FormData(form));
    const send = () => fetch(form.action, { method: 'POST', body }).then((r) => r.text());
    const pages = await Promise.all([send(), send()]);
    return pages.map((html) => new DOMParser().parseFromString(html, 'text/html').querySelector('.panel .code bdi')?.textContent);
  });
  assert.ok(codes[0], 'the first submission got a receipt');
  assert.equal(codes[0], codes[1], 'both submissions show the same tracking code');
  assert.equal(intakeScalar(`SELECT count(*) FROM petitions WHERE body = :'p1'`, text), '1');
  // and a real double click on the button files nothing more
  await page.getByRole('button', { name: 'ثبت درخواست' }).dblclick();
  await page.getByRole('heading', { name: 'درخواست شما ثبت شد' }).waitFor();
  assert.equal(await page.locator('.panel .code bdi').innerText(), codes[0]);
  assert.equal(intakeScalar(`SELECT count(*) FROM petitions WHERE body = :'p1'`, text), '1');
  await context.close();
});

test('a form posted without this browser\'s CSRF token is refused and files nothing', async () => {
  const { context, page } = await newPage();
  await page.goto(`${env.publicUrl}/petitions/new`);
  const text = `درخواست بدون توکن ${Date.now()}`;
  await fillPetition(page, { nationalId: nationalId(), mobile: mobile() }, text);
  await page.locator('input[name=csrf]').evaluate((input) => { input.value = 'forged-token-forged-token-forged-token'; });
  await page.getByRole('button', { name: 'ثبت درخواست' }).click();
  await page.getByRole('heading', { name: /فرم منقضی شده است/ }).waitFor();
  assert.equal(intakeScalar(`SELECT count(*) FROM petitions WHERE body = :'p1'`, text), '0');
  await context.close();
});

test('the site works at 320 px wide', async () => {
  const { context, page } = await newPage({ viewport: { width: 320, height: 640 } });
  await page.goto(`${env.publicUrl}/petitions/new`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 320 px (overflow ${overflow} px)`);
  await checkAccessibility(page, 'petition form at 320 px');
  await screenshot(page, 'citizen-form-320');
  await context.close();
});

// The service-desk console in a real browser: sign-in through the real
// provider (Keycloak, authorization code + PKCE), walk-ins typed with the
// keyboard alone, a meeting with a promise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, checkAccessibility, screenshot } from './lib/browser.mjs';
import { env, nationalId, mobile, asciiDigits, persianDigits, intakeScalar, routingScalar, webScalar, signIn, eventually } from './lib/pasokh.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function operatorAtTheDesk(user = 'operator-tehran') {
  const context = await browser.newContext({ locale: 'fa-IR' });
  const page = await context.newPage();
  await page.goto(`${env.staffUrl}/desk`);
  await signIn(page, user);
  await page.getByRole('heading', { name: /میزهای خدمت امروز/ }).waitFor();
  return { context, page };
}

/** One walk-in, typed as an operator does: Tab between fields, Space for the checkbox, Enter to send. */
async function typeWalkIn(page, walkIn) {
  const keyboard = page.keyboard;
  // the national id field has the focus when the page opens
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'national_id');
  await keyboard.type(walkIn.nationalId);
  // the citizen's earlier petitions appear as soon as the id is complete
  await page.locator('#citizen-petitions').getByText(/درخواست/).first().waitFor();
  await keyboard.press('Tab');
  if (walkIn.repeatOf) {
    // into the radio group ("a new matter" is chosen), then the arrow picks the open petition
    assert.equal(await page.evaluate(() => document.activeElement?.name), 'repeat_of');
    await keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.value), walkIn.repeatOf);
    await keyboard.press('Tab');
  }
  await keyboard.type(walkIn.mobile);
  await keyboard.press('Tab');
  await keyboard.type(walkIn.category);
  await keyboard.press('Tab');
  await keyboard.type(walkIn.text);
  await keyboard.press('Tab');
  if (walkIn.answer) {
    await keyboard.press('Space');
    await keyboard.press('Tab');
    await keyboard.type(walkIn.answer);
  } else {
    await keyboard.press('Tab');
  }
  // past the collapsed "referred to an official" section
  await keyboard.press('Tab');
  await keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'ثبت مراجعه');
  await keyboard.press('Enter');
  await page.getByRole('heading', { name: /مراجعه ثبت/ }).waitFor();
  return asciiDigits(await page.locator('.panel .code bdi').innerText());
}

test('a desk operator signs in at the provider and registers walk-ins with the keyboard alone', async () => {
  const { context, page } = await operatorAtTheDesk();
  assert.ok(page.url().startsWith(env.staffUrl), `back at the console: ${page.url()}`);
  const cookies = await context.cookies(env.staffUrl);
  const session = cookies.find((c) => c.name === '__Host-pasokh-staff');
  assert.ok(session && session.httpOnly && session.secure, 'the session cookie is __Host-, Secure and HttpOnly');
  await checkAccessibility(page, 'desk events');
  await screenshot(page, 'desk-events');

  await page.getByRole('link', { name: 'میز خدمت نماز جمعه تهران' }).first().click();
  await page.getByLabel('کد ملی').waitFor();
  const registered = async () => asciiDigits(await page.locator('.counters li').first().locator('strong').innerText());
  const before = Number(await registered());
  await checkAccessibility(page, 'walk-in form');
  await screenshot(page, 'desk-walk-in');

  const resolved = await typeWalkIn(page, {
    nationalId: nationalId(), mobile: mobile(), category: 'بازنشستگی کشوری (صندوق بازنشستگی کشوری)',
    text: 'حکم بازنشستگی من صادر نشده است', answer: 'حکم همان‌جا با حضور مدیر صندوق صادر شد',
  });
  await checkAccessibility(page, 'walk-in slip');
  await screenshot(page, 'desk-slip');
  assert.equal(
    intakeScalar(`SELECT channel || ':' || (desk_event_id = :'p2') FROM petitions WHERE tracking_code = :'p1'`, resolved, env.deskEvent),
    'desk:true',
  );
  // the slip's "next walk-in" link has the focus: Enter opens a fresh form
  await page.keyboard.press('Enter');
  await page.getByLabel('کد ملی').waitFor();
  const returning = { nationalId: nationalId(), mobile: mobile() };
  const plain = await typeWalkIn(page, {
    ...returning, category: 'پرداخت مستمری (سازمان تأمین اجتماعی)',
    text: 'مستمری دو ماه گذشته پرداخت نشده است',
  });
  assert.notEqual(plain, resolved);
  assert.equal(intakeScalar(`SELECT count(*) FROM petitions WHERE tracking_code IN (:'p1', :'p2')`, resolved, plain), '2');
  await eventually(60, 'the plain walk-in is routed', () => routingScalar(`SELECT status FROM cases WHERE tracking_code = :'p1'`, plain) === 'routed');

  // the same citizen comes back about the same matter: the console shows the open petition,
  // the operator adds the visit to it, and routing merges it into that case
  await page.keyboard.press('Enter');
  await page.getByLabel('کد ملی').waitFor();
  const repeat = await typeWalkIn(page, {
    ...returning, repeatOf: plain, category: 'پرداخت مستمری (سازمان تأمین اجتماعی)',
    text: 'برای بار دوم دربارهٔ مستمری پرداخت‌نشده آمده‌ام',
  });
  assert.match(await page.locator('dl.summary').innerText(), /افزوده به درخواست/);
  const merged = await eventually(60, 'the repeat joins the open case', () => {
    const row = routingScalar(
      `SELECT c.status || ':' || o.tracking_code FROM cases c JOIN cases o ON o.petition_id = c.merged_into WHERE c.tracking_code = :'p1'`,
      repeat,
    );
    return row || false;
  });
  assert.equal(merged, `merged:${plain}`);

  // the counter counts them: three walk-ins, one resolved on the spot
  await page.keyboard.press('Enter');
  await page.getByLabel('کد ملی').waitFor();
  assert.equal(Number(await registered()), before + 3);
  await checkAccessibility(page, 'walk-in form with the counter');
  await context.close();
});

test('a walk-in with mistakes is refused beside its fields and keeps what was typed', async () => {
  const { context, page } = await operatorAtTheDesk();
  await page.goto(`${env.staffUrl}/desk/events/${env.deskEvent}`);
  await page.getByLabel('کد ملی').fill('12345');
  await page.getByLabel('شمارهٔ همراه').fill(mobile());
  await page.getByLabel('موضوع').fill('موضوعی که نیست');
  await page.getByLabel('خلاصهٔ درخواست').fill('متنی که نباید گم شود');
  await page.getByRole('button', { name: 'ثبت مراجعه' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /کد ملی باید ۱۰ رقم باشد/);
  assert.match(await page.getByRole('alert').innerText(), /موضوع را از فهرست انتخاب کنید/);
  assert.equal(await page.getByLabel('خلاصهٔ درخواست').inputValue(), 'متنی که نباید گم شود');
  await checkAccessibility(page, 'walk-in with errors');
  await context.close();
});

test('a meeting with an official is recorded with what was promised by when', async () => {
  const { context, page } = await operatorAtTheDesk();
  await page.goto(`${env.staffUrl}/desk/events/${env.deskEvent}/meetings`);
  await checkAccessibility(page, 'meeting form');
  const official = `دکتر رضایی ${Date.now()}`;
  await page.getByLabel('نام مسئول').fill(official);
  await page.getByLabel('سمت').fill('مدیرکل تأمین اجتماعی استان');
  await page.getByLabel('دستگاه').selectOption('sso');
  await page.getByLabel('موضوع و نتیجهٔ دیدار').fill('مستمری معوق سه ماه');
  await page.getByLabel('قول داده‌شده').fill('پرداخت مستمری معوق تا پایان ماه');
  await page.getByLabel('مهلت انجام قول').fill('۱۴۳۰/۰۱/۱۵');
  await page.getByRole('button', { name: 'ثبت دیدار' }).click();
  await page.getByRole('status').filter({ hasText: 'دیدار ثبت شد' }).waitFor();
  await screenshot(page, 'desk-meeting');
  assert.equal(
    intakeScalar(`SELECT promise || '|' || promise_due FROM desk_meetings WHERE official_name = :'p1'`, official),
    'پرداخت مستمری معوق تا پایان ماه|2051-04-04',
  );
  await context.close();
});

test('signing out ends the session here and at the provider', async () => {
  const { context, page } = await operatorAtTheDesk();
  await page.getByRole('button', { name: 'خروج' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/desk'));
  await page.goto(`${env.staffUrl}/desk`);
  // the provider asks for the password again: its session ended too
  await page.locator('#password').waitFor();
  await context.close();
});

test('a supervisor opens a desk event from the console and closes it', async () => {
  const { context, page } = await operatorAtTheDesk('supervisor-tehran');
  const title = `میز خدمت درب وزارتخانه ${Date.now()}`;
  await page.getByLabel('عنوان').fill(title);
  await page.getByLabel('محل').fill('ساختمان مرکزی وزارت');
  // today in Tehran, written in Jalali with Persian digits, as a supervisor types it
  const today = new Intl.DateTimeFormat('fa-IR-u-ca-persian-nu-latn', { timeZone: 'Asia/Tehran', year: 'numeric', month: '2-digit', day: '2-digit' })
    .format(new Date()).replace(/[^0-9/]/g, '');
  await page.getByLabel('آغاز').fill(`${today} 00:00`);
  await page.getByLabel('پایان').fill(`${today} 23:59`);
  await page.getByRole('checkbox', { name: 'سازمان تأمین اجتماعی' }).check();
  await page.getByRole('button', { name: 'ساختن میز خدمت' }).click();
  await page.getByRole('status').filter({ hasText: 'میز خدمت ساخته شد' }).waitFor();
  assert.ok(await page.getByRole('link', { name: title }).isVisible());
  await checkAccessibility(page, 'desk events as a supervisor');
  await page.getByRole('button', { name: `بستن میز «${title}»` }).click();
  await page.getByRole('status').filter({ hasText: 'میز خدمت بسته شد' }).waitFor();
  assert.equal(await page.getByRole('link', { name: title }).count(), 0, 'a closed desk leaves the list');
  assert.equal(intakeScalar(`SELECT closed_by FROM desk_events WHERE title = :'p1'`, title), 'supervisor-tehran');
  await context.close();
});

test('offline, the desk keeps registering walk-ins and sends each exactly once when the network returns', async () => {
  const { context, page } = await operatorAtTheDesk();
  await page.goto(`${env.staffUrl}/desk/events/${env.deskEvent}`);
  await page.evaluate(async () => { await navigator.serviceWorker.ready; });
  // once the worker controls the page, the page and its assets are in its cache
  await page.reload();
  assert.ok(await page.evaluate(() => Boolean(navigator.serviceWorker.controller)), 'the service worker serves the page');

  const scriptErrors = [];
  page.on('pageerror', (error) => scriptErrors.push(error.message));
  await context.setOffline(true);
  const banner = page.locator('#offline-banner');
  const stamp = Date.now();
  const texts = [1, 2, 3].map((n) => `مراجعهٔ شمارهٔ ${n} در زمان قطع شبکه ${stamp}`);
  for (const [i, text] of texts.entries()) {
    await page.getByLabel('کد ملی').fill(nationalId());
    await page.getByLabel('شمارهٔ همراه').fill(mobile());
    await page.getByLabel('موضوع').fill('پرداخت مستمری (سازمان تأمین اجتماعی)');
    await page.getByLabel('خلاصهٔ درخواست').fill(text);
    await page.getByRole('button', { name: 'ثبت مراجعه' }).click();
    await banner.filter({ hasText: `${persianDigits(i + 1)} مراجعه در صف` }).waitFor();
    assert.equal(await page.getByLabel('کد ملی').inputValue(), '', 'the form is ready for the next citizen');
  }
  const filed = () => intakeScalar(`SELECT count(*) FROM petitions WHERE body LIKE :'p1'`, `%${stamp}`);
  assert.equal(filed(), '0', 'nothing left the desk while offline');

  // still offline, the page comes back from the service worker and the queue from IndexedDB
  await page.reload();
  await banner.filter({ hasText: `${persianDigits(3)} مراجعه در صف` }).waitFor();
  await checkAccessibility(page, 'walk-in page offline');
  await screenshot(page, 'desk-offline');

  await context.setOffline(false);
  await banner.filter({ hasText: 'فرستاده و ثبت شد' }).waitFor({ timeout: 30_000 });
  assert.equal(filed(), '3', 'intake holds exactly the three queued walk-ins');
  // back online for good: a reload sends nothing more
  await page.reload();
  await page.waitForTimeout(2000);
  assert.equal(filed(), '3');
  assert.deepEqual(scriptErrors, [], 'the page script ran without errors');
  await context.close();
});

test('a walk-in referred to the official at the desk is recorded as a meeting about that petition', async () => {
  const { context, page } = await operatorAtTheDesk();
  await page.goto(`${env.staffUrl}/desk/events/${env.deskEvent}`);
  await page.getByLabel('کد ملی').fill(nationalId());
  await page.getByLabel('شمارهٔ همراه').fill(mobile());
  await page.getByLabel('موضوع').fill('تسهیلات و حساب بانک رفاه (بانک رفاه کارگران)');
  await page.getByLabel('خلاصهٔ درخواست').fill('درخواست وام ازدواج از بانک رفاه');
  await page.getByText('ارجاع به مسئول حاضر در میز').click();
  const official = `مهندس کریمی ${Date.now()}`;
  await page.getByLabel('نام مسئول').fill(official);
  await page.getByLabel('سمت مسئول').fill('مدیر شعبه');
  await page.getByLabel('دستگاه مسئول').selectOption('refah-bank');
  await page.getByRole('button', { name: 'ثبت مراجعه' }).click();
  await page.getByRole('heading', { name: /مراجعه ثبت/ }).waitFor();
  assert.match(await page.locator('dl.summary').innerText(), new RegExp(`ارجاع به\\s*${official}`));
  const code = asciiDigits(await page.locator('.panel .code bdi').innerText());
  assert.equal(intakeScalar(`SELECT tracking_code FROM desk_meetings WHERE official_name = :'p1'`, official), code);
  await context.close();
});

test('an idle session ends: the console asks for the sign-in again', async () => {
  const { context, page } = await operatorAtTheDesk();
  // thirty minutes without a request, as the session's clock in the web's database says
  webScalar(`UPDATE staff_sessions SET last_seen_at = now() - interval '31 minutes' WHERE display_name = 'operator-tehran' RETURNING 1`);
  // the console no longer knows the cookie: it sends the browser to sign in (the provider may then
  // sign it in again by itself while its own session lasts; its idle limit is the provider's)
  const answer = await page.request.get(`${env.staffUrl}/desk`, { maxRedirects: 0 });
  assert.equal(answer.status(), 303);
  assert.match(answer.headers().location, /^\/auth\/sign-in\?return_to=/);
  await context.close();
});

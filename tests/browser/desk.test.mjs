// The service-desk console in a real browser: sign-in through the real
// provider (Keycloak, authorization code + PKCE), walk-ins typed with the
// keyboard alone, a meeting with a promise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, checkAccessibility, screenshot } from './lib/browser.mjs';
import { env, nationalId, mobile, asciiDigits, intakeScalar, signIn } from './lib/pasokh.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function operatorAtTheDesk() {
  const context = await browser.newContext({ locale: 'fa-IR' });
  const page = await context.newPage();
  await page.goto(`${env.staffUrl}/desk`);
  await signIn(page, 'operator-tehran');
  await page.getByRole('heading', { name: /میزهای خدمت امروز/ }).waitFor();
  return { context, page };
}

/** One walk-in, typed as an operator does: Tab between fields, Space for the checkbox, Enter to send. */
async function typeWalkIn(page, walkIn) {
  const keyboard = page.keyboard;
  // the national id field has the focus when the page opens
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'national_id');
  await keyboard.type(walkIn.nationalId);
  await keyboard.press('Tab');
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
  const plain = await typeWalkIn(page, {
    nationalId: nationalId(), mobile: mobile(), category: 'پرداخت مستمری (سازمان تأمین اجتماعی)',
    text: 'مستمری دو ماه گذشته پرداخت نشده است',
  });
  assert.notEqual(plain, resolved);
  assert.equal(intakeScalar(`SELECT count(*) FROM petitions WHERE tracking_code IN (:'p1', :'p2')`, resolved, plain), '2');
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

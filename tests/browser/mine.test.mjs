// "My petitions": a one-time code texted through notification to the SMS
// gateway (the local sink, a separate process speaking HTTP), then every
// petition of that mobile. Wrong codes, expiry and lock-out are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, checkAccessibility, screenshot } from './lib/browser.mjs';
import { env, nationalId, mobile, asciiDigits, persianDigits, webScalar, smsTo, eventually } from './lib/pasokh.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function file(page, citizenMobile, text) {
  await page.goto(`${env.publicUrl}/petitions/new`);
  await page.getByLabel('موضوع درخواست').selectOption('medical-coverage');
  await page.getByLabel('استان').selectOption('IR-23');
  await page.getByLabel('کد ملی').fill(nationalId());
  await page.getByLabel('شمارهٔ همراه').fill(citizenMobile);
  await page.getByLabel('متن درخواست').fill(text);
  await page.getByRole('button', { name: 'ثبت درخواست' }).click();
  await page.getByRole('heading', { name: 'درخواست شما ثبت شد' }).waitFor();
  return page.locator('.panel .code bdi').innerText();
}

/** Asks for a code and returns it as the SMS carried it (ASCII digits). */
async function askForCode(page, citizenMobile) {
  const codes = async () => (await smsTo(citizenMobile)).filter((m) => m.text.includes('کد یکبارمصرف'));
  const before = (await codes()).length;
  await page.goto(`${env.publicUrl}/my-petitions`);
  await page.getByLabel('شمارهٔ همراه').fill(persianDigits(citizenMobile));
  await page.getByRole('button', { name: 'فرستادن کد' }).click();
  await page.getByRole('heading', { name: 'کد یکبارمصرف' }).waitFor();
  const sms = await eventually(20, 'the code reaches the phone', async () => (await codes())[before]);
  const code = asciiDigits(sms.text).match(/\b(\d{6})\b/)?.[1];
  assert.ok(code, `a 6-digit code in the SMS: ${sms.text}`);
  return code;
}

const wrong = (code) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

test('a citizen sees every petition of their mobile after a one-time code, and wrong, late and guessed codes are refused', async () => {
  const context = await browser.newContext({ locale: 'fa-IR' });
  const page = await context.newPage();
  const citizenMobile = mobile();
  const first = await file(page, citizenMobile, `دارو در فهرست بیمه نیست ${Date.now()}`);
  const second = await file(page, citizenMobile, `هزینهٔ درمان بازپرداخت نشده ${Date.now()}`);

  // a wrong code is refused beside the field, with the attempts left; the right one shows the list
  const code = await askForCode(page, citizenMobile);
  const verifyUrl = page.url();
  await checkAccessibility(page, 'one-time code form');
  await page.getByLabel('کد').fill(wrong(code));
  await page.getByRole('button', { name: 'نمایش درخواست‌ها' }).click();
  await page.getByRole('alert').filter({ hasText: 'کد نادرست است' }).waitFor();
  assert.match(await page.getByRole('status').innerText(), new RegExp(`${persianDigits(4)} تلاش دیگر`));
  assert.equal(await page.getByLabel('کد').getAttribute('aria-invalid'), 'true');
  await screenshot(page, 'citizen-code-wrong');
  await page.getByLabel('کد').fill(persianDigits(code));
  await page.getByRole('button', { name: 'نمایش درخواست‌ها' }).click();
  await page.getByRole('heading', { name: /درخواست‌های شمارهٔ/ }).waitFor();
  const table = await page.getByRole('table').innerText();
  assert.ok(table.includes(first) && table.includes(second), `both petitions are listed:\n${table}`);
  await checkAccessibility(page, 'my petitions');
  await screenshot(page, 'citizen-my-petitions');
  // the code was used: it cannot be used again
  await page.goto(verifyUrl);
  await page.getByLabel('کد').fill(code);
  await page.getByRole('button', { name: 'نمایش درخواست‌ها' }).click();
  await page.getByRole('heading', { name: 'درخواست‌های من' }).waitFor();

  // the ask form sent twice at once (a double click on a slow network) texts one code
  const codesBefore = (await smsTo(citizenMobile)).filter((m) => m.text.includes('کد یکبارمصرف')).length;
  await page.goto(`${env.publicUrl}/my-petitions`);
  await page.getByLabel('شمارهٔ همراه').fill(citizenMobile);
  const landed = await page.locator('form[action="/my-petitions/code"]').evaluate(async (form) => {
    const body = new URLSearchParams(new FormData(form));
    const send = () => fetch(form.getAttribute('action'), { method: 'POST', body }).then((r) => new URL(r.url).pathname);
    return Promise.all([send(), send()]);
  });
  assert.equal(landed[0], landed[1], 'both land on the same code');
  await page.goto(`${env.publicUrl}${landed[0]}`);
  const smsCodes = await eventually(20, 'the code arrives', async () => {
    const all = (await smsTo(citizenMobile)).filter((m) => m.text.includes('کد یکبارمصرف'));
    return all.length > codesBefore && all;
  });
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await smsTo(citizenMobile)).filter((m) => m.text.includes('کد یکبارمصرف')).length, codesBefore + 1, 'one SMS');
  const late = asciiDigits(smsCodes.at(-1).text).match(/\b(\d{6})\b/)[1];

  // a code past its two minutes is refused (its clock moved on in the web's database)
  const id = new URL(page.url()).pathname.split('/').pop();
  webScalar(`UPDATE one_time_codes SET expires_at = now() - interval '1 second' WHERE id = :'p1' RETURNING 1`, id);
  await page.getByLabel('کد').fill(late);
  await page.getByRole('button', { name: 'نمایش درخواست‌ها' }).click();
  await page.getByRole('alert').filter({ hasText: 'منقضی شده' }).waitFor();

  // five wrong codes lock it: the right one no longer opens the list
  const guessed = await askForCode(page, citizenMobile);
  for (let attempt = 0; attempt < 5; attempt++) {
    await page.getByLabel('کد').fill(wrong(guessed));
    await page.getByRole('button', { name: 'نمایش درخواست‌ها' }).click();
    await page.getByRole('alert').waitFor();
  }
  await page.getByLabel('کد').fill(guessed);
  await page.getByRole('button', { name: 'نمایش درخواست‌ها' }).click();
  await page.getByRole('alert').filter({ hasText: 'قفل شد' }).waitFor();
  assert.equal(await page.getByRole('table').count(), 0, 'no list after the lock-out');

  // three codes in ten minutes is this mobile's limit: the fourth is not sent
  const sent = (await smsTo(citizenMobile)).length;
  await page.goto(`${env.publicUrl}/my-petitions`);
  await page.getByLabel('شمارهٔ همراه').fill(citizenMobile);
  await page.getByRole('button', { name: 'فرستادن کد' }).click();
  await page.getByRole('alert').filter({ hasText: 'درخواست‌های زیادی' }).waitFor();
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await smsTo(citizenMobile)).length, sent, 'no SMS over the limit');
  await context.close();
});

// Smoke check of the browser-test toolchain: Debian's chromium starts under
// playwright-core and axe-core runs in a page. `node tests/browser/smoke.mjs`
import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';

const html = `<!doctype html>
<html lang="fa" dir="rtl">
<head><meta charset="utf-8"><title>پاسخ — آزمون</title></head>
<body>
<main>
<h1>پاسخ</h1>
<p>سامانهٔ عریضه‌های شهروندی.</p>
</main>
</body>
</html>`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
  timeout: 30_000,
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`data:text/html;charset=utf-8,${encodeURIComponent(html)}`);
  const results = await new AxeBuilder({ page }).analyze();
  console.log(`chromium ${browser.version()}, page "${await page.title()}" (dir=${await page.getAttribute('html', 'dir')})`);
  console.log(`axe-core ${results.testEngine.version}: ${results.violations.length} violation(s), ${results.passes.length} passing rule(s)`);
  for (const v of results.violations) console.log(`  - ${v.id} [${v.impact}]: ${v.help}`);
} finally {
  await browser.close();
}

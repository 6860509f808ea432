// Shared helpers for the browser tests: Debian's chromium driven through
// playwright-core (which downloads no browser here), accessibility checked with
// axe-core, full-page screenshots for review.
//
//   PASOKH_CHROMIUM        the browser executable (default /usr/bin/chromium)
//   PASOKH_SCREENSHOT_DIR  where screenshot() writes (default .local/screenshots
//                          in the repository root)
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** Launch headless chromium; `options` are passed on to playwright's launch(). */
export function launch(options = {}) {
  return chromium.launch({
    executablePath: process.env.PASOKH_CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    timeout: 30_000,
    ...options,
  });
}

// An axe target is a list of selectors, one per frame; inside a shadow root a
// selector is itself a list (host first).
function formatTarget(target) {
  return target.map((s) => (Array.isArray(s) ? s.join(' >>> ') : s)).join(' | ');
}

/**
 * Run axe on the page for WCAG 2.1 A and AA. Throws an Error listing every
 * violation of impact serious or critical (rule id, impact, help, the first
 * offending nodes' selectors); returns axe's results otherwise, so a caller can
 * look at the lesser findings too.
 */
export async function checkAccessibility(page, label) {
  const results = await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze();
  const blocking = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (blocking.length > 0) {
    const lines = blocking.map((v) => {
      const shown = v.nodes.slice(0, 3).map((n) => formatTarget(n.target)).join(', ');
      const more = v.nodes.length > 3 ? ` (+${v.nodes.length - 3} more)` : '';
      return `  - ${v.id} [${v.impact}]: ${v.help}\n      at ${shown}${more}`;
    });
    throw new Error(
      `accessibility (${label}): ${blocking.length} serious/critical axe violation(s) at ${page.url()}\n${lines.join('\n')}`,
    );
  }
  return results;
}

/** Write a full-page PNG of the page as <dir>/<name>.png; returns its path. */
export async function screenshot(page, name) {
  const dir = process.env.PASOKH_SCREENSHOT_DIR || path.join(REPO_ROOT, '.local/screenshots');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

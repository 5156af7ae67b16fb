// Owns headless Chromium for the e2e tests: the system /usr/bin/chromium driven by
// playwright-core (which downloads no browser). Used by dashboard and the sale/auction page tests.
import fs from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM_BIN = process.env.CHROMIUM_BIN || ['/usr/bin/chromium',
  '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => fs.existsSync(p)) ||
  '/usr/bin/chromium';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-dev-shm-usage'];

export async function launchBrowser(options = {}) {
  return chromium.launch({
    executablePath: CHROMIUM_BIN,
    args: CHROMIUM_ARGS,
    timeout: 30000,
    ...options,
  });
}

// A fresh page whose console errors and uncaught exceptions are collected in page.errors,
// so a test can assert that the page ran cleanly.
export async function newPage(browser, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(`console: ${m.text()}`); });
  page.setDefaultTimeout(10000);
  return page;
}

// SPDX-License-Identifier: MIT
// browser.mjs: Debian's chromium, headless, through playwright-core, as the HTML report
// drivers (html_report.mjs, html_views.mjs) open it: a fresh profile directory per run, the
// brief's flags, and a page that records script errors, console errors, dialogs and any
// request that is not for a local file (the report must work offline). drive() runs a
// driver's steps and prints what they saw as one JSON object.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function openReport(report, out) {
  const userDir = mkdtempSync(join(tmpdir(), 'ferret-chromium-'));
  // playwright passes the directory as --user-data-dir
  const browser = await chromium.launchPersistentContext(userDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const close = async () => {
    await browser.close();
    rmSync(userDir, { recursive: true, force: true });
  };
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => out.errors.push(String(e.message)));
    page.on('console', (m) => { if (m.type() === 'error') out.errors.push(m.text()); });
    page.on('request', (r) => { if (!r.url().startsWith('file:')) out.requests.push(r.url()); });
    page.on('dialog', (d) => { out.errors.push('dialog: ' + d.message()); d.dismiss(); });
    const t0 = Date.now();
    await page.goto('file://' + report, { waitUntil: 'load' });
    // (polled with evaluate: the page's Content-Security-Policy forbids waitForFunction's eval)
    for (let i = 0; i < 200 && !(await page.evaluate(() => window.ferretReport !== undefined)); i++)
      await page.waitForTimeout(100);
    out.loadMs = Date.now() - t0;
    return { page, close };
  } catch (e) {
    await close();
    throw e;
  }
}

// Opens report, runs body(page, out), then reads the Details tab and checks that no
// script or markup got into the page; prints `out` as JSON whatever happened.
export async function drive(report, body) {
  const out = { errors: [], requests: [] };
  let session = null;
  try {
    session = await openReport(report, out);
    await body(session.page, out);
    await session.page.click('#tab-meta');
    out.metaText = await session.page.textContent('#meta');
    out.scriptInjected = await session.page.evaluate(() => window.__ferretInjected === true ||
      document.querySelectorAll('script').length !== 2 ||
      document.querySelectorAll('svg,img,iframe').length !== 0);
  } catch (e) {
    out.errors.push('driver: ' + String(e && e.message));
  } finally {
    if (session) await session.close();
  }
  console.log(JSON.stringify(out));
}

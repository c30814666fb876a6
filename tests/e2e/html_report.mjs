// SPDX-License-Identifier: MIT
// html_report.mjs: opens a ferret HTML report in Debian's headless chromium (playwright-core)
// and acts on it as a person would: looks at what the flame graph drew, clicks a frame to
// zoom, types a search, switches a memory or trace report's view, opens the other tabs,
// takes screenshots. Prints one JSON object with what it saw; tests/e2e/test_reports.py
// asserts on it and bench/report.sh times it.
//
//   node html_report.mjs REPORT.html SCREENSHOT_PREFIX FRAME_TO_CLICK SEARCH_TERM
import { drive } from './browser.mjs';

const [report, shot, clickName, searchTerm] = process.argv.slice(2);
await drive(report, async (page, out) => {
  out.title = await page.title();
  out.heading = await page.textContent('#title');
  out.nodes = await page.evaluate(() => window.ferretReport.nodes);
  out.drawnBefore = await page.evaluate(() => window.ferretReport.drawn().map((d) => d.name));
  await page.screenshot({ path: shot + '-flame.png' });

  // click the widest drawn frame with the wanted name: a real mouse click on the canvas
  const box = await page.evaluate((name) => {
    const c = document.getElementById('flame').getBoundingClientRect();
    const d = window.ferretReport.drawn().filter((f) => f.name === name).sort((a, b) => b.w - a.w)[0];
    return d ? { x: c.left + d.x + d.w / 2, y: c.top + d.y + d.h / 2, w: d.w, canvas: c.width } : null;
  }, clickName);
  out.clickFound = box !== null;
  if (box) {
    out.widthBefore = box.w;
    const t1 = Date.now();
    await page.mouse.click(box.x, box.y);
    out.zoomMs = Date.now() - t1;
    out.zoomed = await page.evaluate(() => window.ferretReport.zoomed());
    out.widthAfter = await page.evaluate((name) => Math.max(0, ...window.ferretReport.drawn()
      .filter((f) => f.name === name).map((f) => f.w)), clickName);
    out.canvasWidth = box.canvas;
    out.drawnZoomed = await page.evaluate(() => window.ferretReport.drawn().map((d) => d.name));
    await page.screenshot({ path: shot + '-zoomed.png' });
    await page.click('#reset');
    out.zoomedAfterReset = await page.evaluate(() => window.ferretReport.zoomed());
  }

  // search: typed into the box; the matched frames turn the highlight colour on the canvas
  await page.fill('#search', searchTerm);
  // (polled with evaluate: the page's Content-Security-Policy forbids waitForFunction's eval)
  for (let i = 0; i < 50 && !(await page.textContent('#match')); i++)
    await page.waitForTimeout(100);
  out.matchText = await page.textContent('#match');
  out.matchedCount = await page.evaluate(() => window.ferretReport.matchedCount());
  out.highlightPixel = await page.evaluate((term) => {
    const re = new RegExp(term, 'i');
    const d = window.ferretReport.drawn().find((f) => re.test(f.name));
    if (!d) return null;
    const c = document.getElementById('flame'), dpr = window.devicePixelRatio || 1;
    const px = c.getContext('2d').getImageData(Math.round((d.x + 1) * dpr), Math.round((d.y + 2) * dpr), 1, 1).data;
    return [px[0], px[1], px[2]];
  }, searchTerm);
  await page.screenshot({ path: shot + '-search.png' });

  // a memory or trace report: switching to its second view (the flame graph laid out again)
  if (await page.locator('#views button').count() > 1) {
    await page.click('#tab-flame');
    const t2 = Date.now();
    await page.click('#views button:nth-child(2)');
    out.viewMs = Date.now() - t2;
    out.secondView = await page.evaluate(() => window.ferretReport.view());
  }

  // the other tabs render without errors
  await page.click('#tab-table');
  out.tableRows = await page.locator('#ftable tbody tr').count();
  out.firstRow = await page.textContent('#ftable tbody tr td');
  await page.click('#ftable thead th:nth-child(5)');
  await page.screenshot({ path: shot + '-table.png' });
  if (await page.locator('#tab-source').count()) {
    await page.click('#tab-source');
    out.sourceFiles = await page.locator('.src').count();
  }
  if (await page.locator('#tab-threads').count()) {
    await page.click('#tab-threads');
    out.threadRows = await page.locator('.tl').count();
    // per thread: its label, and whether its GIL band (lower strip) has any colour
    out.gilBands = await page.evaluate(() => Array.from(document.querySelectorAll('.tl')).map((tl) => {
      const c = tl.querySelector('canvas'), dpr = window.devicePixelRatio || 1;
      const row = c.getContext('2d').getImageData(0, Math.round(23 * dpr), c.width, 1).data;
      let painted = false;
      for (let i = 3; i < row.length; i += 4) if (row[i] > 0) { painted = true; break; }
      return [tl.querySelector('.lab').textContent, painted];
    }));
    await page.screenshot({ path: shot + '-threads.png' });
  }
});

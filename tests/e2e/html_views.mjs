// SPDX-License-Identifier: MIT
// html_views.mjs: drives the HTML report of a memory or a trace profile in headless chromium
// (browser.mjs) as a person would, takes screenshots, and prints one JSON object with what
// it saw; tests/e2e/test_html_views.py asserts on it.
//
//   node html_views.mjs memory REPORT.html SCREENSHOT_PREFIX FILE_NAME LINE
//     clicks each view (peak, leaks, allocated): what the flame graph drew and its total;
//     the source view's numbers for FILE_NAME:LINE under the peak; the timeline plot and
//     the colour at its peak marker; the function table.
//   node html_views.mjs trace REPORT.html SCREENSHOT_PREFIX FILE_NAME FUNCTION
//     the function table's row of FUNCTION; every numbered line of FILE_NAME in the source
//     view; the wall and CPU views of the flame graph; the threads tab.
import { drive } from './browser.mjs';

const [kind, report, shot, fileName, arg] = process.argv.slice(2);

const drawnNames = (page) => page.evaluate(() => window.ferretReport.drawn().map((d) => d.name));

// The numbers of every line of the source view for the file whose name ends with fileName:
// {line: [column texts...]}, and the file's heading.
const sourceLines = (page) => page.evaluate((name) => {
  const box = Array.from(document.querySelectorAll('.src')).find((s) => s.dataset.file.endsWith(name));
  if (!box) return null;
  const lines = {};
  box.querySelectorAll('.ln').forEach((ln) => {
    lines[ln.dataset.line] = Array.from(ln.querySelectorAll('.cnt')).map((c) => c.textContent);
  });
  return { heading: box.querySelector('h3').textContent, lines };
}, fileName);

// The function table as rows of cell texts.
const tableRows = (page) => page.evaluate(() => Array.from(document.querySelectorAll('#ftable tbody tr'))
  .map((tr) => Array.from(tr.cells).map((td) => td.textContent)));

await drive(report, async (page, out) => {
  out.heading = await page.textContent('#title');
  out.facts = await page.textContent('#facts');
  out.scriptCount = await page.evaluate(() => document.querySelectorAll('script').length);
  out.initialView = await page.evaluate(() => window.ferretReport.view());
  out.initialTab = await page.evaluate(() => document.querySelector('nav button.on').id);
  out.views = await page.evaluate(() => Array.from(document.querySelectorAll('#views button')).map((b) => b.id));
  if (out.initialTab !== 'tab-flame') await page.click('#tab-flame');
  out.byView = {};
  for (const id of out.views) {
    await page.click('#' + id);
    out.byView[id] = {
      view: await page.evaluate(() => window.ferretReport.view()),
      total: await page.evaluate(() => window.ferretReport.total()),
      nodes: await page.evaluate(() => window.ferretReport.nodes),
      drawn: await drawnNames(page),
      summary: await page.textContent('#viewsum'),
    };
    await page.screenshot({ path: `${shot}-${id}.png` });
  }
  await page.click('#' + out.views[0]);
  await page.click('#tab-table');
  out.headers = await page.evaluate(() => Array.from(document.querySelectorAll('#ftable thead th')).map((t) => t.textContent));
  out.table = await tableRows(page);
  await page.screenshot({ path: `${shot}-table.png` });
  await page.click('#tab-source');
  out.source = await sourceLines(page);
  out.sourceNote = await page.textContent('#sources');
  if (kind === 'memory') {
    // scroll the peak line into view for the screenshot
    await page.evaluate((line) => {
      const ln = document.querySelector(`.src .ln[data-line="${line}"]`);
      if (ln) ln.scrollIntoView({ block: 'center' });
    }, arg);
  }
  await page.screenshot({ path: `${shot}-source.png` });
  if (kind === 'memory') {
    // the leaks view's source numbers for the same file, to see the view switch reach here
    await page.click('#view-leaks');
    out.leakSource = await sourceLines(page);
    await page.click('#view-peak');
    await page.click('#tab-timeline');
    out.plot = await page.evaluate(() => window.ferretReport.plot());
    out.plotNote = await page.textContent('#plot-note');
    // what the canvas shows (RGBA; the canvas is transparent where nothing was drawn): the
    // colour at the peak's dot, and how many columns of the plotting area hold the heap's
    // colour just above the time axis
    out.plotPixels = await page.evaluate(() => {
      const c = document.getElementById('plot'), g = c.getContext('2d'), G = window.ferretReport.plot();
      const dpr = window.devicePixelRatio || 1;
      const px = (x, y) => Array.from(g.getImageData(Math.round(x * dpr), Math.round(y * dpr), 1, 1).data);
      let heapColumns = 0, columns = 0;
      for (let x = G.L + 1; x < G.L + G.pw; x += 2, columns++) {
        const [r, gr, b, a] = px(x, G.T + G.ph - 2);
        if (a > 40 && Math.abs(r - 234) < 12 && Math.abs(gr - 88) < 12 && Math.abs(b - 12) < 12) heapColumns++;
      }
      return { peak: px(G.peakX, G.peakY), heapColumns, columns };
    });
    await page.screenshot({ path: `${shot}-timeline.png` });
  } else {
    await page.click('#tab-threads');
    out.threads = await page.evaluate(() => Array.from(document.querySelectorAll('#threads tbody tr'))
      .map((tr) => Array.from(tr.cells).map((td) => td.textContent)));
    await page.screenshot({ path: `${shot}-threads.png` });
  }
});

// Browser test of the HTML report (issue 5): Debian's chromium, driven headless by
// playwright-core. Generates reports with `tongyuan compare --html`, opens them, and checks
// that the highlighted passages are exactly the ones of the JSONL output, that <ins>/<del>
// marks are there for a spun copy, and that a click on a passage scrolls its counterpart
// into view and flashes it. Screenshots go to ARTIFACTS (kept by CI).
//
// usage: node tests/browser/report.mjs TONGYUAN ARTIFACTS_DIR
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const [ty, outDir] = process.argv.slice(2);
if (!ty || !outDir) {
  console.error('usage: node report.mjs TONGYUAN ARTIFACTS_DIR');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

let passed = 0, failed = 0;
function check(cond, what) {
  if (cond) { passed++; console.log('ok   ' + what); }
  else { failed++; console.log('FAIL ' + what); }
}

function tyRun(args) {
  try {
    return execFileSync(ty, args, { encoding: 'utf8' });
  } catch (e) {
    if (e.status === 1) return e.stdout; // no reuse found is not an error
    throw e;
  }
}

const cases = [
  { name: 'spun-news', src: 'examples/original.txt', sus: 'examples/spun.txt' },
  { name: 'partial', src: 'tests/data/text/src-00109.txt', sus: 'tests/data/text/sus-00017.txt' },
  { name: 'shuffled', src: 'tests/data/text/src-00085.txt', sus: 'tests/data/text/sus-00097.txt' },
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  for (const c of cases) {
    const html = path.resolve(outDir, `report-${c.name}.html`);
    tyRun(['compare', '--html', html, c.src, c.sus]);
    const jsonl = tyRun(['compare', '--format', 'jsonl', c.src, c.sus]);
    const want = jsonl.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    check(want.length > 0, `${c.name}: tongyuan finds reuse`);

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const requests = [];
    page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
    await page.goto('file://' + html);

    const marks = await page.$$eval('mark.p[data-side="sus"]', (ms) => ms.map((m) => ({
      p: +m.dataset.p, sus_off: +m.dataset.susOff, sus_len: +m.dataset.susLen,
      src_off: +m.dataset.srcOff, src_len: +m.dataset.srcLen, text: m.textContent,
    })));
    const got = marks.map((m) => [m.sus_off, m.sus_len, m.src_off, m.src_len].join(',')).sort();
    const exp = want.map((w) => [w.sus_off, w.sus_len, w.src_off, w.src_len].join(',')).sort();
    check(JSON.stringify(got) === JSON.stringify(exp),
      `${c.name}: highlighted passages equal the JSONL output (${exp.length})`);

    // the highlighted text is the passage: compare with the file's code points
    const { readFileSync } = await import('node:fs');
    const susText = Array.from(readFileSync(c.sus, 'utf8'));
    const w0 = want[0];
    const m0 = marks.find((m) => m.sus_off === w0.sus_off);
    check(m0 && m0.text === susText.slice(w0.sus_off, w0.sus_off + w0.sus_len).join(''),
      `${c.name}: the suspect's highlighted text is the passage's text`);

    const nsrc = await page.$$eval('mark.p[data-side="src"]', (ms) => ms.length);
    check(nsrc === want.length, `${c.name}: every passage highlighted in the source too`);
    if (c.name !== 'verbatim') {
      const nins = await page.$$eval('mark.p ins', (x) => x.length);
      const ndel = await page.$$eval('mark.p del', (x) => x.length);
      check(nins > 0 && ndel > 0, `${c.name}: spinner changes marked (${nins} ins, ${ndel} del)`);
    }

    // click the last suspect passage: its source counterpart scrolls into view and flashes
    const last = marks[marks.length - 1];
    // a real mouse click on the passage's last line (a long passage's centre may lie under
    // the sticky headers): scroll that line to the middle of its pane first
    const pt = await page.$eval(`mark.p[data-side="sus"][data-p="${last.p}"]`, (el) => {
      const pane = el.closest('.pane');
      const rs = el.getClientRects();
      let r = rs[rs.length - 1];
      const pr = pane.getBoundingClientRect();
      pane.scrollTop += r.top - (pr.top + pr.height / 2);
      r = el.getClientRects()[rs.length - 1];
      return { x: r.left + Math.min(r.width / 2, 20), y: r.top + r.height / 2 };
    });
    await page.mouse.click(pt.x, pt.y);
    const target = page.locator(`mark.p[data-side="src"][data-p="${last.p}"]`);
    await page.waitForTimeout(900); // smooth scrolling
    const flashed = await target.evaluate((el) => el.classList.contains('flash'));
    const visible = await target.evaluate((el) => {
      const pane = el.closest('.pane').getBoundingClientRect(), r = el.getBoundingClientRect();
      return r.bottom > pane.top && r.top < pane.bottom;
    });
    check(flashed && visible, `${c.name}: clicking a passage scrolls to and flashes its counterpart`);
    check(errors.length === 0, `${c.name}: no script errors ${errors.join('; ')}`);
    check(requests.length === 0, `${c.name}: self-contained (no external requests) ${requests.join(' ')}`);
    const font = await page.$eval('body', (b) => getComputedStyle(b).fontFamily);
    check(/CJK|Han|YaHei|PingFang/.test(font), `${c.name}: a CJK font is asked for`);
    await page.screenshot({ path: path.join(outDir, `report-${c.name}.png`) });
    await page.close();
  }
} finally {
  await browser.close();
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

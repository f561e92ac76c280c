// Browser test of the `tongyuan serve` page (issue 5): Debian's chromium, driven headless by
// playwright-core, opens GET / of a running server, pastes the spun article
// examples/spun.txt, submits, and checks that the passages highlighted in the report are the
// ones POST /v1/check returns as JSON; also the upload button, no script errors, no request
// leaving the server. Screenshot: ARTIFACTS/serve.png (kept by CI).
//
// It starts nothing: `make test-browser` builds the index (examples/original.txt and a few
// other texts) and starts the server. usage: node tests/browser/serve.mjs URL ARTIFACTS_DIR
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) {
  console.error('usage: node serve.mjs URL ARTIFACTS_DIR');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const url = base.endsWith('/') ? base : base + '/';

let passed = 0, failed = 0;
function check(cond, what) {
  if (cond) { passed++; console.log('ok   ' + what); }
  else { failed++; console.log('FAIL ' + what); }
}

const text = readFileSync('examples/spun.txt', 'utf8');
const name = 'spun.txt';

// what the JSON API says
const api = await (await fetch(url + 'v1/check', {
  method: 'POST', headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ text, name }),
})).json();
const want = api.sources.flatMap((s) => s.passages);
check(api.sources.length > 0 && api.sources[0].src.endsWith('original.txt'),
  `/v1/check finds the original (${api.sources.map((s) => s.src).join(', ')})`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const foreign = [];
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(url) && !u.startsWith('about:') && !u.startsWith('data:')) foreign.push(u);
  });
  const resp = await page.goto(url);
  check(resp.status() === 200, 'GET / answers 200');

  // the upload button fills the text area
  await page.setInputFiles('#file', 'examples/spun.txt');
  await page.waitForFunction(() => document.getElementById('text').value.length > 0,
    null, { timeout: 5000 });
  check(await page.$eval('#text', (t) => t.value) === text, 'uploading a file fills the text area');

  // an empty submission is refused on the page, with a message
  await page.fill('#text', '   ');
  await page.click('#go');
  check(await page.$eval('#status', (s) => s.className === 'err' && s.textContent.length > 0),
    'an empty text gets a message, not a request');

  // paste, as a person would: clear, then insert the text at the cursor
  await page.fill('#text', '');
  await page.focus('#text');
  await page.keyboard.insertText(text);
  await page.fill('#name', name);
  await page.click('#go');
  await page.waitForSelector('body[data-state="done"]', { timeout: 30000 });
  const frame = await (await page.$('#report')).contentFrame();
  const marks = await frame.$$eval('mark.p[data-side="sus"]', (ms) => ms.map((m) => ({
    sus_off: +m.dataset.susOff, sus_len: +m.dataset.susLen,
    src_off: +m.dataset.srcOff, src_len: +m.dataset.srcLen, text: m.textContent,
  })));
  const key = (p) => [p.sus_off, p.sus_len, p.src_off, p.src_len].join(',');
  const got = marks.map(key).sort();
  const exp = want.map(key).sort();
  check(exp.length > 0 && JSON.stringify(got) === JSON.stringify(exp),
    `highlighted passages equal the /v1/check JSON (${exp.length}: ${exp.join(' ')})`);
  const cps = Array.from(text);
  const w0 = want[0];
  const m0 = marks.find((m) => m.sus_off === w0.sus_off);
  check(m0 && m0.text === cps.slice(w0.sus_off, w0.sus_off + w0.sus_len).join(''),
    "the highlighted text is the passage's text");
  const nsrc = await frame.$$eval('mark.p[data-side="src"]', (ms) => ms.length);
  check(nsrc === want.length, 'every passage highlighted in the source too');
  const nins = await frame.$$eval('mark.p ins', (x) => x.length);
  const ndel = await frame.$$eval('mark.p del', (x) => x.length);
  check(nins > 0 && ndel > 0, `spinner changes marked (${nins} ins, ${ndel} del)`);
  const status = await page.$eval('#status', (s) => s.textContent);
  check(/Done/.test(status), `status line says done (${status})`);

  check(errors.length === 0, `no script errors ${errors.join('; ')}`);
  check(foreign.length === 0, `no request leaves the server ${foreign.join(' ')}`);
  await page.screenshot({ path: path.join(outDir, 'serve.png'), fullPage: true });
  await page.close();
} finally {
  await browser.close();
}
console.log(`browser (serve): ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

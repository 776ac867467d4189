// The browser check of `cargo xtask book`: opens every page of a built mdBook from file:// in
// headless Chromium, with the network off, and reports what a reader would see go wrong.
//
//   node check-pages.mjs <built book dir> <screenshot dir> <report.json>
//
// A page fails when its visible text still holds TeX delimiters or control characters, an image
// or a sound does not load, it asks for anything outside the book's folder, or it logs an error.
// Every page is saved as a full-page screenshot. The report maps each page to its problems; the
// exit code is 0 when there are none, 1 when a page has one, 2 when the check itself failed.

import { chromium } from "playwright-core";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";

const [bookArg, shotsArg, reportArg] = process.argv.slice(2);
if (!reportArg) {
  console.error("usage: node check-pages.mjs <built book dir> <screenshot dir> <report.json>");
  process.exit(2);
}
const book = resolve(bookArg);
const shots = resolve(shotsArg);
const bookUrl = pathToFileURL(book + sep).href;

// Pages a reader opens. index.html is a copy of the first page, print.html repeats every page,
// toc.html is the sidebar's no-script fallback and 404.html is only served by a web server (its
// links start at the site's root).
const skipped = new Set(["index.html", "print.html", "toc.html", "404.html"]);

function pages(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return pages(path);
    return entry.name.endsWith(".html") && !skipped.has(relative(book, path)) ? [path] : [];
  });
}

// The launch flags keep Chromium from reaching for the network on its own (updates, sync,
// field trials), so that every request left is one a page made.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });

// Every request that is not a file inside the book is refused and recorded against the page.
let outside = [];
await context.route(
  (url) => !url.href.startsWith(bookUrl) && !/^(data|blob|about):/.test(url.protocol),
  (route) => {
    outside.push(route.request().url());
    return route.abort("blockedbyclient");
  },
);

const report = {};
let failed = 0;
mkdirSync(shots, { recursive: true });
for (const file of pages(book).sort()) {
  const name = relative(book, file);
  const problems = [];
  outside = [];
  const page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`script error: ${e.message}`));
  page.on("request", (r) => {
    const url = r.url();
    if (!url.startsWith(bookUrl) && !/^(data|blob|about):/.test(url)) outside.push(url);
  });
  page.on("requestfailed", (r) => {
    if (r.url().startsWith(bookUrl)) {
      problems.push(`failed to load ${r.url().slice(bookUrl.length)}: ${r.failure()?.errorText}`);
    }
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
  problems.push(...(await page.evaluate(inspect)));
  for (const url of new Set(outside)) problems.push(`requested outside the book: ${url}`);
  await page.screenshot({ path: join(shots, name.replaceAll(sep, "_").replace(/\.html$/, ".png")), fullPage: true });
  await page.close();
  // mdBook draws every picture twice (the picture and its zoomed copy): say each problem once.
  report[name] = [...new Set(problems)];
  if (report[name].length > 0) failed++;
  console.log(report[name].length === 0 ? `ok   ${name}` : `FAIL ${name}\n  ${report[name].join("\n  ")}`);
}
await browser.close();
writeFileSync(reportArg, JSON.stringify(report, null, 2));
console.log(`${Object.keys(report).length - failed} pages passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

// Runs inside the page, after its load event: what the reader sees.
async function inspect() {
  const problems = [];
  await document.fonts.ready;
  for (const details of document.querySelectorAll("details")) details.open = true;

  // The visible text, without KaTeX's MathML copy (a screen reader's, drawn off-screen).
  const hide = (selector) =>
    [...document.querySelectorAll(selector)].map((el) => {
      const display = el.style.display;
      el.style.display = "none";
      return () => (el.style.display = display);
    });
  const restoreMathml = hide(".katex-mathml");
  const text = document.body.innerText;
  const control = text.match(/[\u0000-\u0008\u000b-\u001f\u007f\ufffd]/g);
  if (control) {
    const codes = [...new Set(control)].map((c) => "U+" + c.charCodeAt(0).toString(16).padStart(4, "0"));
    problems.push(`control characters in the text: ${codes.join(", ")}`);
  }
  // Code is shown as written, so delimiters inside it are not unrendered math.
  const restoreCode = hide("pre, code");
  const prose = document.body.innerText;
  for (const delimiter of ["\\(", "\\)", "\\[", "\\]", "$$"]) {
    const at = prose.indexOf(delimiter);
    if (at >= 0) {
      const around = prose.slice(Math.max(0, at - 30), at + 50).replace(/\s+/g, " ");
      problems.push(`unrendered TeX ${delimiter} in "${around}"`);
    }
  }
  for (const restore of [...restoreCode, ...restoreMathml]) restore();
  // Markdown's smart punctuation reaches a formula as a curly quote or a dash (x' for x^\prime).
  for (const tex of document.querySelectorAll('annotation[encoding="application/x-tex"]')) {
    if (/[\u2018\u2019\u201c\u201d\u2013\u2014]/.test(tex.textContent)) {
      problems.push(`smart punctuation inside the formula ${tex.textContent.slice(0, 80)}`);
    }
  }
  for (const error of document.querySelectorAll(".katex-error")) {
    problems.push(`formula KaTeX could not render: ${error.textContent.slice(0, 80)}`);
  }

  for (const img of document.images) {
    if (!img.complete) await new Promise((done) => img.addEventListener("loadend", done, { once: true }));
    if (img.naturalWidth === 0) problems.push(`image does not load: ${img.getAttribute("src")}`);
  }
  for (const audio of document.querySelectorAll("audio")) {
    const loaded = await new Promise((done) => {
      if (audio.readyState >= HTMLMediaElement.HAVE_METADATA) return done(true);
      audio.addEventListener("loadedmetadata", () => done(true), { once: true });
      audio.addEventListener("error", () => done(false), { once: true });
      setTimeout(() => done(false), 10000);
      audio.preload = "metadata";
      audio.load();
    });
    if (!loaded || !(audio.duration > 0)) {
      problems.push(`sound does not load: ${audio.currentSrc || audio.querySelector("source")?.getAttribute("src")}`);
    }
  }
  return problems;
}

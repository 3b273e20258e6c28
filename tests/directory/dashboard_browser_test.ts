// The live dashboard in real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core): relays appear without a reload, hostile text
// stays text, the page fits a phone, and nothing breaks the CSP.
import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { registerRelay } from "../../lib/directory/mod.ts";
import { generateIdentity } from "../../lib/identity/mod.ts";
import { startDirectory } from "./processes_for_testing.ts";

const CHROMIUM = "/usr/bin/chromium";
const HOSTILE = `<img src=x onerror=alert(1)><script>alert(2)</script>"'&`;

Deno.test("the dashboard shows a relay registered while it is open, as text", async () => {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: apt-get install chromium`,
    );
  }
  const root = await Deno.makeTempDir({ prefix: "altnet-browser-" });
  const directory = await startDirectory(join(root, "directory"), [
    "--history-interval",
    "1s",
  ]);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  const load = (peers: number) => ({
    peers,
    circuits: 3,
    bytesRelayed: 123_456_789,
    uptimeSeconds: 4000,
  });
  try {
    await registerRelay(directory.url, generateIdentity(), {
      announcement: {
        name: "early-relay",
        addresses: [{ host: "127.0.0.1", port: 8001 }],
      },
      load: load(2),
    });
    const page = await browser.newPage({
      viewport: { width: 1200, height: 800 },
    });
    const problems: string[] = [];
    page.on(
      "pageerror",
      (error) => problems.push(`page error: ${error.message}`),
    );
    page.on("console", (message) => {
      if (message.type() === "error") {
        problems.push(`console: ${message.text()}`);
      }
    });
    page.on("dialog", (dialog) => {
      problems.push(`dialog: ${dialog.message()}`);
      dialog.dismiss().catch(() => {});
    });
    let requests = 0;
    page.on("request", (request) => {
      if (request.url() === `${directory.url}/`) requests++;
    });

    await page.goto(`${directory.url}/`);
    await page.waitForSelector('#status[data-state="live"]', {
      timeout: 15_000,
    });
    await page.waitForSelector("tr[data-fingerprint] >> text=early-relay");
    assert.equal(await page.textContent("#total-relays"), "1");

    // Registered while the page is open: it appears without a reload.
    await registerRelay(directory.url, generateIdentity(), {
      announcement: {
        name: "late-relay",
        addresses: [{ host: "127.0.0.1", port: 8002 }],
        capabilities: ["relay", "exit", "onion"],
        contact: HOSTILE,
      },
      load: load(5),
    });
    const row = page.locator("tr", { hasText: "late-relay" });
    await row.waitFor({ timeout: 10_000 });
    assert.equal(requests, 1, "the page was not reloaded");
    // Functions run in the page; strings keep Deno's types out of it.
    await page.waitForFunction(
      'document.getElementById("total-relays").textContent === "2"',
    );
    assert.equal(await page.textContent("#total-peers"), "7");

    // Hostile contact text is shown literally and creates no element.
    const contact = row.locator('td[data-label="Contact"]');
    assert.equal(await contact.textContent(), HOSTILE);
    assert.equal(await page.locator("#relays img, #relays script").count(), 0);
    assert.equal(await row.locator(".flag").count(), 3);
    assert.match(
      (await row.locator('td[data-label="Load"]').textContent())!,
      /^5 peers, 3 circuits$/,
    );
    assert.match(
      (await row.locator('td[data-label="Relayed"]').textContent())!,
      /^123\.5 MB$/,
    );

    // The chart draws from the recorded history.
    // A flat line has no height, which Playwright calls hidden: attached is
    // what matters.
    await page.waitForSelector("#chart-relays polyline", { state: "attached" });
    const points = await page.getAttribute("#chart-relays polyline", "points");
    assert.ok(points && points.split(" ").length >= 2, points ?? "");

    const wide = join(root, "dashboard.png");
    await page.screenshot({ path: wide, fullPage: true });
    assert.ok((await Deno.stat(wide)).size > 10_000);

    // On a phone the table turns into cards: nothing scrolls sideways.
    await page.setViewportSize({ width: 375, height: 740 });
    const overflow = await page.evaluate<number>(
      "document.documentElement.scrollWidth - window.innerWidth",
    );
    assert.ok(overflow <= 0, `page is ${overflow} px wider than the phone`);
    assert.equal(await page.locator("thead").isVisible(), false);
    const phone = join(root, "dashboard-phone.png");
    await page.screenshot({ path: phone, fullPage: true });
    assert.ok((await Deno.stat(phone)).size > 10_000);

    assert.deepEqual(problems, []);
    console.log(`screenshots: ${wide} ${phone}`);
  } finally {
    await browser.close();
    await directory.stop();
    // Keep the screenshots when asked (ALTNET_KEEP_SCREENSHOTS=1).
    if (!Deno.env.get("ALTNET_KEEP_SCREENSHOTS")) {
      await Deno.remove(root, { recursive: true });
    }
  }
});

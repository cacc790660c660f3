// Plays a whole conversation on each face of the demo console (/demo/) in
// Debian's Chromium, headless, driven by puppeteer-core (no browser is
// downloaded). The Go test TestConsoleInChromium (console/browser_test.go)
// starts a demo-mode proxy and runs this file with:
//   PROXY_URL       the proxy's public URL
//   CHROMIUM        the browser (default /usr/bin/chromium)
//   SCREENSHOT_DIR  where the pane screenshots go (desktop and phone width)
//   DOWNLOAD_DIR    where the transcript PDF is downloaded
//   CUSTOMER_TEXT, AGENT_TEXT, WHISPER_TEXT, CONNECTOR_TEXT, CONNECTOR_REPLY
//                   what is said, so that the Go side can check the PDF
// Every step waits for what a person would see on screen; a step that does
// not appear within LIMIT fails the test.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, readFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const env = (name, def) => {
  const v = process.env[name] ?? def;
  if (v === undefined) throw new Error(`${name} is not set (run through go test -run TestConsoleInChromium ./console/)`);
  return v;
};
const PROXY = env("PROXY_URL");
const CHROMIUM = env("CHROMIUM", "/usr/bin/chromium");
const SHOTS = env("SCREENSHOT_DIR");
const DOWNLOADS = env("DOWNLOAD_DIR");
const CUSTOMER_TEXT = env("CUSTOMER_TEXT");
const AGENT_TEXT = env("AGENT_TEXT");
const WHISPER_TEXT = env("WHISPER_TEXT");
const CONNECTOR_TEXT = env("CONNECTOR_TEXT");
const CONNECTOR_REPLY = env("CONNECTOR_REPLY");
const RUN = Math.random().toString(36).slice(2, 7);
const CUSTOMER = `Ada Test${RUN}`;
const CONSUMER_FIRST = "Grace";
const CONSUMER_LAST = `Test${RUN}`;

const LIMIT = 20000; // ms for any one thing to appear on screen
const DESKTOP = { width: 1440, height: 1000 };
// Not isMobile: puppeteer reloads the page to change it, which would lose
// what the conversations left on screen.
const PHONE = { width: 375, height: 812, deviceScaleFactor: 2 };

let browser;
let page;
let profile;
const problems = []; // page errors and console errors: each fails the run
let expectedError = null; // a console error a test provokes on purpose

before(async () => {
  profile = mkdtempSync(join(tmpdir(), "console-chromium-"));
  mkdirSync(SHOTS, { recursive: true });
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile, // a fresh profile: --user-data-dir
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--disable-dev-shm-usage",
    ],
    defaultViewport: DESKTOP,
    protocolTimeout: 60000,
  });
  page = await browser.newPage();
  page.setDefaultTimeout(LIMIT);
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !expectedError?.test(msg.text())) problems.push(`console error: ${msg.text()}`);
  });
  const cdp = await browser.target().createCDPSession();
  await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: DOWNLOADS, eventsEnabled: true });
  page.downloads = cdp;
  await page.goto(`${PROXY}/demo/`, { waitUntil: "load" });
  await page.waitForSelector("body[data-ready=true]");
});

after(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

// see waits until selector matches an element whose text contains text
// (when given), and says which step did not appear.
async function see(step, selector, text) {
  try {
    return await page.waitForFunction(
      (sel, want) => [...document.querySelectorAll(sel)].find((n) => !want || n.textContent.includes(want)),
      { timeout: LIMIT, polling: 100 },
      selector, text ?? "");
  } catch (err) {
    const shot = join(SHOTS, `failed-${step.replace(/\W+/g, "-")}.png`);
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    throw new Error(`step "${step}" did not appear on screen (${selector}${text ? ` with "${text}"` : ""}); screenshot ${shot}: ${err.message}`);
  }
}

async function type(selector, text) {
  await page.click(selector, { clickCount: 3 });
  await page.keyboard.press("Backspace");
  await page.type(selector, text);
}

const card = (name) => `#ag-list li.card[data-customer="${name}"]`;

async function gone(step, selector) {
  try {
    await page.waitForFunction((sel) => !document.querySelector(sel), { timeout: LIMIT, polling: 100 }, selector);
  } catch (err) {
    throw new Error(`step "${step}" did not happen: ${selector} is still on screen: ${err.message}`);
  }
}

test("keyboard: the first Tab reaches the skip link, which leads to the panes", async () => {
  await page.focus("body");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.className), "skip");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => location.hash), "#main");
});

test("agent desk: the auto-agent can be switched off, so that a person answers", async () => {
  await see("auto-agent switch shows its state", "#ag-auto[aria-checked=true]");
  await page.focus("#ag-auto");
  await page.keyboard.press("Space");
  await see("auto-agent switched off", "#ag-auto[aria-checked=false]");
  const state = await page.evaluate(async () => (await fetch("/demo/agent/auto-agent")).json());
  assert.equal(state.enabled, false);
});

test("customer channel: init, join, message, agent joins and replies, whisper stays hidden, end, PDF", async () => {
  await type("#cc-name", CUSTOMER);
  await type("#cc-email", `ada.${RUN}@example.com`);
  await type("#cc-channel", "web");
  await page.focus("#cc-channel");
  await page.keyboard.press("Enter"); // the form submits from the keyboard
  await see("customer joined the conversation", "#cc-conn.ok", "Connected");
  await see("greeting shown", "#cc-log li.activity");
  const conversationId = await page.$eval("#cc-conv", (n) => n.textContent);
  assert.match(conversationId, /^[0-9a-f-]{36}$/);

  await page.type("#cc-text", CUSTOMER_TEXT);
  await page.keyboard.press("Enter");
  await see("customer's message in the chat", "#cc-log li.msg.me", CUSTOMER_TEXT);

  await see("engagement on the agent desk", card(CUSTOMER), "Customer Channel · web");
  await type("#ag-name", "Alex Smith");
  await page.click(`${card(CUSTOMER)} button.primary`); // Join
  await see("agent joined, in the customer pane", "#cc-log li.activity", "Alex Smith joined the conversation");
  await see("agent shown on the card", card(CUSTOMER), "Alex Smith");

  await page.click(`${card(CUSTOMER)} input[type=checkbox]`);
  await page.type(`${card(CUSTOMER)} form input:not([type])`, WHISPER_TEXT);
  await page.keyboard.press("Enter");
  await page.waitForFunction((sel) => document.querySelector(sel).value === "", {}, `${card(CUSTOMER)} form input:not([type])`);
  await page.click(`${card(CUSTOMER)} input[type=checkbox]`);
  await page.type(`${card(CUSTOMER)} form input:not([type])`, AGENT_TEXT);
  await page.keyboard.press("Enter");
  await see("agent's reply in the customer pane", "#cc-log li.msg.them", AGENT_TEXT);
  const log = await page.$eval("#cc-log", (n) => n.textContent);
  assert.ok(!log.includes(WHISPER_TEXT), "the whisper reached the customer");

  await page.click("#cc-end");
  await see("end of conversation", "#cc-log li.activity.end", "You ended the conversation");
  await see("transcript link", "#cc-transcript:not([hidden])", "transcript");
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the transcript did not download")), LIMIT);
    page.downloads.on("Browser.downloadProgress", (e) => {
      if (e.state === "completed") {
        clearTimeout(timer);
        resolve(e);
      } else if (e.state === "canceled") {
        clearTimeout(timer);
        reject(new Error("the transcript download was cancelled"));
      }
    });
  });
  await page.click("#cc-transcript");
  await done;
  const pdf = readFileSync(join(DOWNLOADS, `transcript-${conversationId}.pdf`));
  assert.equal(pdf.subarray(0, 5).toString(), "%PDF-", "the transcript is not a PDF");
  console.log(`TRANSCRIPT transcript-${conversationId}.pdf`);
});

test("connector API: tokens, conversation, send, agent reply as a verified notification, close", async () => {
  await see("notification stream live", "#lp-stream.ok", "live");
  await page.click("#lp-token button[type=submit]");
  await see("AppJWT obtained", "#lp-token-result.ok", "AppJWT");
  await page.click("#lp-consumer button[type=submit]");
  await see("ConsumerJWS obtained", "#lp-consumer-result.ok", "ConsumerJWS");
  await type("#lp-first", CONSUMER_FIRST);
  await type("#lp-last", CONSUMER_LAST);
  await page.click("#lp-open button[type=submit]");
  await see("conversation opened", "#lp-open-result.ok", "Conversation ");
  const conv = await page.$eval("#lp-open-result", (n) => n.textContent.replace("Conversation ", "").trim());

  await page.type("#lp-text", CONNECTOR_TEXT);
  await page.keyboard.press("Enter");
  await see("SEND accepted", "#lp-send-result.ok", CONNECTOR_TEXT);
  await see("each request and answer shown", "#lp-calls li summary", "SEND");

  const name = `${CONSUMER_FIRST} ${CONSUMER_LAST}`;
  await see("engagement on the agent desk", card(name), "Messaging Connector API");
  await page.click(`${card(name)} button.primary`);
  await see("agent joining, as a verified notification", `#lp-notes li.note.change[data-conversation="${conv}"][data-verified=true]`, "Conversation OPEN");
  await page.type(`${card(name)} form input:not([type])`, CONNECTOR_REPLY);
  await page.keyboard.press("Enter");
  await see("agent's reply, as a verified ContentEvent", `#lp-notes li.note[data-key="ms.MessagingEventNotification.ContentEvent"][data-conversation="${conv}"][data-verified=true]`, CONNECTOR_REPLY);
  await see("the notification says it was verified", `#lp-notes li.note[data-conversation="${conv}"] .verified`, "signature verified");

  await page.click("#lp-close");
  await see("CLOSE accepted", "#lp-send-result.ok", "closed");
  await see("close notification", `#lp-notes li.note.change[data-conversation="${conv}"]`, "Conversation CLOSE");
  await gone("closed engagement leaves the agent desk", card(name));
});

test("errors from the proxy read as sentences, not JSON", async () => {
  await type("#lp-client-secret", "not-the-secret");
  expectedError = /status of 401/; // Chromium logs the refused request itself
  await page.click("#lp-token button[type=submit]");
  const alert = await see("readable error", "#lp-error:not([hidden])", "AppJWT failed");
  expectedError = null;
  const text = await alert.evaluate((n) => n.textContent);
  assert.ok(!/[{}"]/.test(text), `the error shows JSON: ${text}`);
  assert.match(text, /40102/);
  await type("#lp-client-secret", await page.evaluate(async () => (await (await fetch("config.json")).json()).clientSecret));
});

// startChat starts a new customer conversation from the ended one.
async function startChat(name) {
  await page.click("#cc-new");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "cc-name", "focus did not return to the form");
  await type("#cc-name", name);
  await page.click("#cc-init button[type=submit]");
  await see(`${name}'s chat joined`, "#cc-conn.ok", "Connected");
  await see(`${name}'s engagement on the desk`, card(name));
}

test("customer channel: an agent leaving, and no agent available, read as sentences", async () => {
  const leaving = `Ada Left${RUN}`;
  await startChat(leaving);
  await page.click(`${card(leaving)} button.primary`);
  await see("agent joined", "#cc-log li.activity", "Alex Smith joined the conversation");
  await page.waitForFunction((sel) => !document.querySelector(sel).disabled, {}, `${card(leaving)} .row button:nth-child(2)`);
  await page.click(`${card(leaving)} .row button:nth-child(2)`); // Leave
  await see("agent left, in the customer pane", "#cc-log li.activity", "Alex Smith left the conversation");
  await see("the dialog ended with the last agent", "#cc-log li.activity.end", "The contact center ended the conversation");

  const unlucky = `Ada NoAgent${RUN}`;
  await startChat(unlucky);
  await page.click(`${card(unlucky)} .row button:nth-child(3)`); // No agent available
  await see("no agent available", "#cc-log li.activity.warn", "No agent is available right now (every agent is busy)");
  await see("and the end", "#cc-log li.activity.end", "ended the conversation");
});

test("screen readers: every control has a name, every pane a heading, arriving messages a live region", async () => {
  const unnamed = await page.evaluate(() => {
    const name = (n) => (n.getAttribute("aria-label") || n.labels?.[0]?.textContent || n.textContent || n.title || "").trim();
    return [...document.querySelectorAll("input, button, a[href], select, textarea")]
      .filter((n) => !n.closest("[hidden]") && n.type !== "hidden" && !name(n))
      .map((n) => n.outerHTML.slice(0, 80));
  });
  assert.deepEqual(unnamed, []);
  for (const pane of ["customer", "connector", "agent"]) {
    const labelled = await page.$eval(`#${pane}`, (n) => document.getElementById(n.getAttribute("aria-labelledby"))?.tagName);
    assert.equal(labelled, "H2", `pane ${pane} is not labelled by its heading`);
  }
  for (const sel of ["#cc-log", "#lp-notes"]) {
    assert.equal(await page.$eval(sel, (n) => n.getAttribute("role")), "log", `${sel} is not a log`);
  }
});

test("a second chat, left open for the screenshots", async () => {
  const second = "Ada Lovelace"; // the others were Ada Test…, Ada Left…: names stay unique on the desk
  await startChat(second);
  await page.type("#cc-text", "Is my order on its way?");
  await page.keyboard.press("Enter");
  await see("second chat's message", "#cc-log li.msg.me", "order");
  await page.click(`${card(second)} button.primary`);
  await see("agent joined the second chat", "#cc-log li.activity", "joined the conversation");
  await page.type(`${card(second)} form input:not([type])`, "It left the warehouse this morning.");
  await page.keyboard.press("Enter");
  await see("reply in the second chat", "#cc-log li.msg.them", "warehouse");
  await page.focus("#cc-text");
});

test("screenshots of the three panes at desktop and phone width; no sideways scrolling on a phone", async () => {
  for (const [label, viewport] of [["desktop", DESKTOP], ["phone", PHONE]]) {
    await page.setViewport(viewport);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    if (label === "phone") {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone`);
    }
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(SHOTS, `${label}-page.png`) });
    for (const pane of ["customer", "connector", "agent"]) {
      const el = await page.$(`#${pane}`);
      await el.screenshot({ path: join(SHOTS, `${label}-${pane}.png`) });
    }
  }
  // The README's picture (docs/demo-console.png is this, palette-reduced).
  await page.setViewport({ width: 1200, height: 760 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, "overview.png") });
});

test("no page error and no console error along the way", () => {
  assert.deepEqual(problems, []);
});

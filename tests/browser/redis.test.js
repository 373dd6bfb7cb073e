// The chat demo across two processes: two `ws serve --redis` on one real redis-server, a
// Chromium page on each, chatting with each other. Run it with tests/browser/run.sh, which
// sets WS_BIN and CHROMIUM as for chat.test.js; the redis-server binary is $WS_REDIS_SERVER
// or `redis-server` on PATH (without one the test is skipped, except in CI, CI=true, where
// it fails: .ci/run installs it).
//
// Everything listens on 127.0.0.1, every wait has a timeout, and Redis, both servers and the
// browser are stopped by PID on every path.
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");
const readline = require("node:readline");
const { chromium } = require("playwright-core");

const WAIT = 10_000; // any single wait
const ROOT = path.resolve(__dirname, "..", "..");
const WS_BIN = process.env.WS_BIN || path.join(ROOT, "target", "debug", "ws");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const OUT = process.env.WS_BROWSER_OUT || path.join(ROOT, "target", "browser");
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const PREFIX = `browser${process.pid}:`;

/// $WS_REDIS_SERVER, or redis-server on PATH, or null.
function redisBinary() {
  if (process.env.WS_REDIS_SERVER) return process.env.WS_REDIS_SERVER;
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    const candidate = path.join(dir, "redis-server");
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return null;
}

const REDIS = redisBinary();
if (!REDIS && process.env.CI === "true") {
  throw new Error("redis-server not found: set WS_REDIS_SERVER or install it (.ci/run does)");
}

const children = [];
function stopAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}
process.on("exit", stopAll);

/// A free loopback port (taken from a listener that is closed at once).
function freePort() {
  return new Promise((resolve, reject) => {
    const listener = net.createServer();
    listener.once("error", reject);
    listener.listen(0, "127.0.0.1", () => {
      const { port } = listener.address();
      listener.close(() => resolve(port));
    });
  });
}

/// Spawns `command`; resolves with [child, match] once a line of `stream` matches `pattern`.
function startUntil(command, args, stream, pattern) {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command}: no line like ${pattern}`)), WAIT);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${command} exited with ${code}`)));
    const lines = readline.createInterface({ input: child[stream] });
    lines.on("line", (line) => {
      const match = pattern.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve([child, match]);
      }
    });
    // Drain the other stream so that the child never blocks on a full pipe.
    child[stream === "stdout" ? "stderr" : "stdout"].resume();
  });
}

/// How many connections subscribe to `channel`, from Redis itself (PUBSUB NUMSUB).
function numsub(port, channel) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let reply = "";
    socket.on("error", reject);
    socket.on("data", (data) => {
      reply += data;
      const match = /:(\d+)\r\n$/.exec(reply);
      if (match) {
        socket.destroy();
        resolve(Number(match[1]));
      }
    });
    socket.write(`PUBSUB NUMSUB ${channel}\r\n`);
  });
}

async function until(what, condition) {
  const end = Date.now() + WAIT;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let redisPort;
let servers = []; // addresses
let browser;

before(async () => {
  if (!REDIS) return;
  fs.mkdirSync(OUT, { recursive: true });
  redisPort = await freePort();
  await startUntil(
    REDIS,
    ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
    "stdout",
    /Ready to accept connections/,
  );
  for (let i = 0; i < 2; i += 1) {
    const [child, match] = await startUntil(
      WS_BIN,
      ["serve", "127.0.0.1:0", "--redis", `redis://127.0.0.1:${redisPort}/`, "--channel-prefix", PREFIX],
      "stdout",
      /^listening on ws:\/\/(127\.0\.0\.1:\d+)\/$/,
    );
    servers.push(match[1]);
    child.stdout.resume();
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  stopAll();
});

async function openPage(addr) {
  const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.problems = [];
  page.on("pageerror", (error) => page.problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") page.problems.push(`console error: ${message.text()}`);
  });
  await page.goto(`http://${addr}/`, { waitUntil: "load" });
  return page;
}

async function join(page, name) {
  await page.fill("#name", name);
  await page.click("#join-button");
  await page.waitForSelector('#status[data-state="connected"]');
}

async function say(page, text) {
  await page.waitForSelector("#text:not([disabled])");
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

/// Waits until the page shows `count` chat messages and returns them as [user, text].
async function messages(page, count) {
  await page.waitForFunction(
    (n) => document.querySelectorAll('#messages li[data-kind="message"]').length >= n,
    count,
  );
  return page.$$eval('#messages li[data-kind="message"]', (items) =>
    items.map((item) => [item.querySelector(".user").textContent, item.querySelector(".text").textContent]),
  );
}

async function notice(page, text) {
  await page.waitForFunction(
    (want) => [...document.querySelectorAll('#messages li[data-kind="notice"]')].some((li) => li.textContent === want),
    text,
  );
}

test("two pages on two ws serve processes chat through Redis", { skip: !REDIS && "no redis-server" }, async () => {
  assert.notEqual(servers[0], servers[1]);
  const ada = await openPage(servers[0]);
  const bob = await openPage(servers[1]);
  await join(ada, "ada");
  await join(bob, "bob");
  // Both processes subscribe to the lobby's channel once their page is in it.
  await until("both processes subscribed", async () => (await numsub(redisPort, `${PREFIX}room:lobby`)) === 2);
  await notice(ada, "bob joined");

  await say(ada, "hello from the first process");
  assert.deepEqual(await messages(bob, 1), [["ada", "hello from the first process"]]);
  await say(bob, "hi from the second");
  const expected = [
    ["ada", "hello from the first process"],
    ["bob", "hi from the second"],
  ];
  assert.deepEqual(await messages(ada, 2), expected);
  assert.deepEqual(await messages(bob, 2), expected);
  // Each message once: nothing more arrives after a third one that both see.
  await say(bob, "last");
  const all = [...expected, ["bob", "last"]];
  assert.deepEqual(await messages(ada, 3), all);
  assert.deepEqual(await messages(bob, 3), all);

  await ada.screenshot({ path: path.join(OUT, "redis-ada.png") });
  await bob.screenshot({ path: path.join(OUT, "redis-bob.png") });

  // Bob's page closes: his process announces the leave, and ada's page shows it.
  await bob.context().close();
  await notice(ada, "bob left");
  assert.deepEqual(ada.problems, []);
});

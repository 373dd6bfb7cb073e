// The chat demo of `ws serve` in a real browser: Debian's Chromium, headless, driven by
// playwright-core. Run it with tests/browser/run.sh, which installs what it needs and sets:
//
//   WS_BIN          the `ws` binary to start (`ws serve 127.0.0.1:0`)
//   CHROMIUM        the Chromium binary (`command -v chromium`)
//   WS_BROWSER_OUT  where the screenshots go (target/browser)
//   WS_TLS_DIR      a test certificate for 127.0.0.1 (`cert.pem`, `key.pem`, `ca.pem`, as
//                   `cargo run -p ws-cli --example test-certs -- DIR` writes them)
//
// Two pages join, exchange messages and see both; a message made of HTML shows as text; then
// the connection of one page is cut and the page reconnects by itself; a third page's join
// shows after everything before it, and a page in another room sees none of it. Then the same
// chat over TLS (`ws serve --tls-cert ... --tls-key ...`) on each backend, mio and std: the
// page over https opens wss:// to its room, in a browser context that accepts the test
// certificate (`ignoreHTTPSErrors`; Chromium still refuses it once per connection with an
// alert before it goes on, which `ws serve` may log as "received fatal alert:
// CertificateUnknown"). Everything listens on 127.0.0.1, every wait has a timeout, and the
// servers, the proxy and the browser are stopped on every path.
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
const TLS_DIR = process.env.WS_TLS_DIR || path.join(OUT, "certs");
// The flags this machine's Chromium needs: no sandbox (root), no GPU, and none of the
// background traffic to Google's services, which a closed network refuses.
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let server; // { child, addr }
let proxy; // a TCP proxy in front of the server, for cutting one page's connection
let browser;
const servers = []; // every `ws serve` started, stopped on exit

/// `ws serve 127.0.0.1:0 ARGS...`; resolves with its address once it printed
/// `listening on ws://ADDR/` (`wss://` when `tls`).
function startServer(args = [], tls = false) {
  const child = spawn(WS_BIN, ["serve", "127.0.0.1:0", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  servers.push(child);
  const scheme = tls ? "wss" : "ws";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${WS_BIN} printed no address`)), WAIT);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${WS_BIN} exited with ${code}`)));
    const lines = readline.createInterface({ input: child.stdout });
    lines.once("line", (line) => {
      clearTimeout(timer);
      const match = new RegExp(`^listening on ${scheme}://(127\\.0\\.0\\.1:\\d+)/$`).exec(line);
      if (!match) return reject(new Error(`unexpected first line: ${line}`));
      resolve({ child, addr: match[1] });
    });
  });
}

/// A TCP proxy on 127.0.0.1 to `target` ("host:port") that can cut every connection through
/// it and refuse new ones for a while, as a lost network would.
function startProxy(target) {
  const [host, port] = target.split(":");
  const sockets = new Set();
  let refusing = false;
  let refused = 0;
  const track = (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  };
  const listener = net.createServer((client) => {
    track(client);
    if (refusing) {
      refused += 1;
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(port), host);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  return new Promise((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(0, "127.0.0.1", () =>
      resolve({
        addr: `127.0.0.1:${listener.address().port}`,
        cut() {
          refusing = true;
          for (const socket of sockets) socket.destroy();
        },
        restore() {
          refusing = false;
        },
        refused: () => refused,
        close() {
          for (const socket of sockets) socket.destroy();
          listener.close();
        },
      }),
    );
  });
}

function stopServers() {
  for (const child of servers) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}
process.on("exit", stopServers);

/// A promise that fails after `ms`.
function deadline(promise, ms, what) {
  let timer;
  const expiry = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/// A page on `addr` (at `where`, "/" or "/?room=NAME") whose console errors and page errors
/// are recorded, and the URLs of the WebSockets it opens (`page.sockets`). `https`: load it
/// over TLS, accepting the test certificate.
async function openPage(addr, { where = "/", https = false } = {}) {
  const context = await browser.newContext({
    viewport: { width: 900, height: 640 },
    ignoreHTTPSErrors: https,
  });
  const page = await context.newPage();
  page.sockets = [];
  page.on("websocket", (socket) => page.sockets.push(socket.url()));
  page.setDefaultTimeout(WAIT);
  page.problems = [];
  page.on("pageerror", (error) => page.problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    // A refused reconnection attempt is logged by Chromium itself, and expected.
    if (message.type() === "error" && !/WebSocket connection to .* failed/.test(message.text())) {
      page.problems.push(`console error: ${message.text()}`);
    }
  });
  await page.goto(`${https ? "https" : "http"}://${addr}${where}`, { waitUntil: "load" });
  return page;
}

async function join(page, name) {
  await page.fill("#name", name);
  await page.click("#join-button");
  await connected(page);
}

const connected = (page) => page.waitForSelector('#status[data-state="connected"]');

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
    items.map((item) => [
      item.querySelector(".user").textContent,
      item.querySelector(".text").textContent,
    ]),
  );
}

/// Waits for a notice (join, leave, connection) with exactly this text, `nth` from 1.
async function notice(page, text, nth = 1) {
  await page.waitForFunction(
    ([want, n]) =>
      [...document.querySelectorAll('#messages li[data-kind="notice"]')].filter(
        (li) => li.textContent === want,
      ).length >= n,
    [text, nth],
  );
}

before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  server = await startServer();
  proxy = await startProxy(server.addr);
  // Playwright gives every launch a fresh, empty --user-data-dir of its own (a new temporary
  // directory, deleted on close).
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
});

after(async () => {
  if (browser) await deadline(browser.close(), WAIT, "closing the browser").catch(() => {});
  if (proxy) proxy.close();
  stopServers();
});

test("two pages chat through ws serve, render HTML as text, and reconnect after a cut", async (t) => {
  // Ada's page goes through the proxy, so that her connection alone can be cut.
  const ada = await openPage(proxy.addr);
  const bob = await openPage(server.addr);

  await t.test("the page loads with a name field and no connection", async () => {
    assert.equal(await ada.title(), "ws chat");
    assert.equal(await ada.getAttribute("#status", "data-state"), "offline");
    assert.equal(await ada.isVisible("#name"), true);
  });

  await t.test("each page joins with its name; both see the joins", async () => {
    await join(ada, "ada");
    await notice(ada, "ada joined");
    await join(bob, "bob");
    await notice(bob, "bob joined");
    await notice(ada, "bob joined");
    assert.equal(await ada.textContent("#me"), "ada");
    for (const page of [ada, bob]) {
      assert.deepEqual(await page.$$eval("#users .chip", (chips) => chips.map((c) => c.textContent)), [
        "ada",
        "bob",
      ]);
    }
  });

  await t.test("messages from each page reach both", async () => {
    await say(ada, "hello from ada");
    await messages(bob, 1);
    await say(bob, "hi ada, bob here");
    const expected = [
      ["ada", "hello from ada"],
      ["bob", "hi ada, bob here"],
    ];
    assert.deepEqual(await messages(ada, 2), expected);
    assert.deepEqual(await messages(bob, 2), expected);
    assert.equal(await ada.textContent("#messages li.mine .text"), "hello from ada");
  });

  await t.test("HTML in a message is shown as text, never run", async () => {
    const attack = '<img src=x onerror="window.__xss=1"><b>bold?</b><script>window.__xss=2</script>';
    await say(bob, attack);
    for (const page of [ada, bob]) {
      const shown = await messages(page, 3);
      assert.deepEqual(shown[2], ["bob", attack]);
      assert.equal(await page.locator("#messages img, #messages b, #messages script").count(), 0);
      assert.equal(await page.evaluate(() => window.__xss), undefined);
    }
  });

  await t.test("an over-long message stays on its page with an error", async () => {
    const long = "€".repeat(1366); // 4,098 bytes of UTF-8
    await say(ada, long);
    await ada.waitForSelector('#messages li[data-kind="error"]');
    assert.match(await ada.textContent('#messages li[data-kind="error"]'), /4098 bytes, at most 4096/);
    assert.equal(await ada.inputValue("#text"), long);
    await ada.fill("#text", "");
    assert.equal((await messages(bob, 3)).length, 3);
  });

  await t.test("a cut connection is noticed and the page reconnects by itself", async () => {
    proxy.cut();
    await ada.waitForSelector('#status[data-state="reconnecting"]');
    await ada.waitForSelector("#text[disabled]");
    await notice(bob, "ada left");
    // A retry is refused and the next one is scheduled: the backoff goes on by itself.
    await ada.waitForFunction(() =>
      /retrying in \d+ s \(attempt ([2-9]|\d\d+)\)/.test(document.getElementById("status").textContent),
    );
    assert.ok(proxy.refused() >= 1, "the page retried while the network was down");

    proxy.restore();
    await connected(ada);
    await notice(ada, "reconnected");
    await notice(bob, "ada joined"); // bob arrived after ada: his first "ada joined"

    await say(ada, "back again");
    assert.deepEqual((await messages(bob, 4))[3], ["ada", "back again"]);
    assert.deepEqual((await messages(ada, 4))[3], ["ada", "back again"]);
  });

  const cy = await openPage(server.addr);
  const dee = await openPage(server.addr, { where: "/?room=side" });

  await t.test("joins show in order, oldest first, and each room sees its own", async () => {
    await join(cy, "cy");
    await notice(ada, "cy joined");
    await notice(bob, "cy joined");
    await join(dee, "dee");
    await notice(dee, "dee joined");
    await say(dee, "only in side");
    await messages(dee, 1);
    await say(cy, "cy in the lobby");
    for (const page of [ada, bob]) {
      await messages(page, 5);
      const shown = await page.$$eval("#messages li", (items) =>
        items.map((item) => [Number(item.dataset.ts), item.textContent]),
      );
      const times = shown.map(([ts]) => ts);
      assert.deepEqual(times, [...times].sort((a, b) => a - b), "oldest first");
      const texts = shown.map(([, text]) => text);
      const cyJoined = texts.indexOf("cy joined");
      assert.ok(texts.lastIndexOf("bob joined") < cyJoined, texts.join(" | "));
      assert.ok(cyJoined < texts.findIndex((text) => text.includes("cy in the lobby")));
      assert.ok(!texts.some((text) => text.includes("dee")), "nothing of the other room");
      assert.equal(await page.textContent("#room"), "#lobby");
    }
    assert.equal(await dee.textContent("#room"), "#side");
    assert.deepEqual(await dee.$$eval("#users .chip", (chips) => chips.map((c) => c.textContent)), ["dee"]);
    const deeSaw = await dee.$$eval("#messages li", (items) => items.map((item) => item.textContent));
    assert.ok(!deeSaw.some((text) => /ada|bob|cy/.test(text)), deeSaw.join(" | "));
  });

  await t.test("an invalid room name is explained and nothing connects", async () => {
    const bad = await openPage(server.addr, { where: "/?room=no%20spaces" });
    await bad.waitForSelector('#messages li[data-kind="error"]');
    assert.match(await bad.textContent('#messages li[data-kind="error"]'), /not valid/);
    assert.equal(await bad.isDisabled("#join-button"), true);
    assert.deepEqual(bad.problems, []);
  });

  await t.test("no script or policy errors on any page", async () => {
    assert.deepEqual(ada.problems, []);
    assert.deepEqual(bob.problems, []);
    assert.deepEqual(cy.problems, []);
    assert.deepEqual(dee.problems, []);
  });

  await t.test("screenshots", async () => {
    await ada.screenshot({ path: path.join(OUT, "chat.png") });
    await bob.screenshot({ path: path.join(OUT, "chat-bob.png") });
    assert.ok(fs.statSync(path.join(OUT, "chat.png")).size > 1000);
  });
});

for (const backend of ["mio", "std"]) {
  test(`the chat over https and wss on ${backend}, with a test certificate`, async (t) => {
    const cert = path.join(TLS_DIR, "cert.pem");
    const key = path.join(TLS_DIR, "key.pem");
    assert.ok(fs.existsSync(cert) && fs.existsSync(key), `no test certificate in ${TLS_DIR} (run.sh makes it)`);
    const secure = await startServer(["--backend", backend, "--tls-cert", cert, "--tls-key", key], true);
    const cy = await openPage(secure.addr, { where: "/?room=secure", https: true });
    const dee = await openPage(secure.addr, { where: "/?room=secure", https: true });

    await t.test("the page came over https and its socket is wss", async () => {
      assert.equal(await cy.evaluate(() => location.protocol), "https:");
      assert.equal(await cy.evaluate(() => window.isSecureContext), true);
      await join(cy, "cy");
      await join(dee, "dee");
      await notice(cy, "dee joined");
      for (const page of [cy, dee]) {
        assert.deepEqual(page.sockets, [`wss://${secure.addr}/ws?room=secure`]);
        assert.equal(await page.textContent("#room"), "#secure");
      }
    });

    await t.test("messages cross over wss both ways", async () => {
      await say(cy, "over tls ✓");
      await messages(dee, 1);
      await say(dee, "ack from dee");
      const expected = [
        ["cy", "over tls ✓"],
        ["dee", "ack from dee"],
      ];
      assert.deepEqual(await messages(cy, 2), expected);
      assert.deepEqual(await messages(dee, 2), expected);
    });

    await t.test("no script or policy errors, and a screenshot", async () => {
      assert.deepEqual(cy.problems, []);
      assert.deepEqual(dee.problems, []);
      const shot = path.join(OUT, `chat-tls-${backend}.png`);
      await cy.screenshot({ path: shot });
      assert.ok(fs.statSync(shot).size > 1000);
    });
  });
}

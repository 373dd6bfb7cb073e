'use strict';
// Client peer for the ws-std interop tests (the Node `ws` package).
//
// Usage: node client_check.js ws://127.0.0.1:PORT/ [--deflate MODE]
//
// Checks that the server agreed to permessage-deflate as MODE asks (printed as
// "extensions: ..."), then runs a scripted exchange against an echo server and checks every
// answer exactly: 200 similar messages (so each side's window is used across messages), text
// (with non-ASCII), binary, empty messages, 1 MiB binary and text, a fragmented message, a
// ping with payload; then closes with 4001 "bye" and checks that the server echoes 4001.
// Exits 0 if everything matched; otherwise prints "FAIL: <reason>" to stderr and exits 1.

const WebSocket = require('ws');
const { fromArgv } = require('./deflate_modes');

const TIMEOUT = 10000; // ms, for each step
const MIB = 1024 * 1024;

const argv = process.argv.slice(2);
const { mode, perMessageDeflate } = fromArgv(argv);
const url = argv[0];

function fail(reason) {
  console.error(`FAIL: ${reason}`);
  process.exit(1);
}

function main() {
  const ws = new WebSocket(url, { perMessageDeflate, maxPayload: 16 * MIB });
  const queue = [];
  let waiter = null;
  ws.on('message', (data, isBinary) => {
    queue.push({ data, isBinary });
    if (waiter) waiter();
  });
  ws.on('error', (e) => fail(`${e.message}`));

  function next(what) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => fail(`${what}: no answer within ${TIMEOUT} ms`), TIMEOUT);
      const take = () => {
        if (queue.length === 0) return;
        clearTimeout(timer);
        waiter = null;
        resolve(queue.shift());
      };
      waiter = take;
      take();
    });
  }

  async function echo(what, parts, binary, quiet) {
    const pieces = Array.isArray(parts) ? parts : [parts];
    pieces.forEach((p, i) => ws.send(p, { binary, fin: i === pieces.length - 1 }));
    const expected = Buffer.concat(pieces.map((p) => Buffer.from(p)));
    const got = await next(what);
    if (got.isBinary !== binary || !got.data.equals(expected)) {
      fail(`${what}: expected ${binary ? 'binary' : 'text'} of ${expected.length} bytes, got ` +
        `${got.isBinary ? 'binary' : 'text'} of ${got.data.length} bytes`);
    }
    if (!quiet) console.log(`ok: ${what}`);
  }

  ws.on('open', async () => {
    console.log(`extensions: ${ws.extensions}`);
    const agreed = ws.extensions.includes('permessage-deflate');
    if (agreed !== (mode !== 'off')) fail(`--deflate ${mode}: the server answered ${JSON.stringify(ws.extensions)}`);
    for (let i = 0; i < 200; i++) {
      const m = `{"seq": ${i}, "event": "update", "price": ${(i * 7) % 1000}}`;
      await echo(`similar message ${i}`, m, false, true);
    }
    console.log('ok: 200 similar messages');
    await echo('text', 'hello', false);
    await echo('non-ASCII text', 'héllo wörld ✓ 日本語 🎉', false);
    await echo('binary', Buffer.from([...Array(256).keys()]), true);
    await echo('empty text', '', false);
    await echo('empty binary', Buffer.alloc(0), true);
    let state = 6455;
    const big = Buffer.alloc(MIB);
    for (let i = 0; i < MIB; i++) {
      state = (state * 1103515245 + 12345) >>> 0;
      big[i] = state >>> 24;
    }
    await echo('1 MiB binary', big, true);
    await echo('1 MiB text', 'aé€🎉'.repeat(MIB / 10), false);
    await echo('fragmented text', ['frag', 'mented ', 'tëxt'], false);
    ws.ping(Buffer.from('ping-payload'));
    await new Promise((resolve) => {
      const timer = setTimeout(() => fail('ping: no pong'), TIMEOUT);
      ws.once('pong', (payload) => {
        clearTimeout(timer);
        if (payload.toString() !== 'ping-payload') fail(`pong payload ${payload}`);
        console.log('ok: ping answered');
        resolve();
      });
    });
    ws.on('close', (code, reason) => {
      if (code !== 4001) fail(`close: sent 4001, the server's Close frame had ${code} ${reason}`);
      console.log('ok: close 4001 echoed');
      console.log('all checks passed');
      process.exit(0);
    });
    ws.close(4001, 'bye');
    setTimeout(() => fail('close: no Close frame from the server'), TIMEOUT);
  });
}

main();

'use strict';
// Echo server peer for the ws-std interop tests (the Node `ws` package).
//
// Usage: node echo_server.js [PORT] [--exit-on-stdin-eof] [--deflate MODE]
//
// Listens on 127.0.0.1 (PORT 0 or omitted: any free port) and prints the port as the first
// line of stdout. Echoes text as text and binary as binary; the text message
// "close-me CODE REASON" makes it close with that code and reason instead. Each connection's
// agreed extensions are printed as "extensions: ...". --deflate MODE: see deflate_modes.js.

const { WebSocketServer } = require('ws');
const { fromArgv } = require('./deflate_modes');

const argv = process.argv.slice(2);
const { perMessageDeflate } = fromArgv(argv);
const exitOnStdinEof = argv.includes('--exit-on-stdin-eof');
const port = Number(argv.find((a) => !a.startsWith('--')) || 0);

const server = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate,
  maxPayload: 16 * 1024 * 1024,
});

server.on('listening', () => console.log(String(server.address().port)));
server.on('connection', (ws, request) => {
  console.log(`extensions: ${request.headers['sec-websocket-extensions'] || ''} -> ${ws.extensions}`);
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      const text = data.toString('utf8');
      if (text.startsWith('close-me ')) {
        const [, code, ...reason] = text.split(' ');
        ws.close(Number(code), reason.join(' '));
        return;
      }
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on('error', (e) => console.error(`connection error: ${e.message}`));
});

if (exitOnStdinEof) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

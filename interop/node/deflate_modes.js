'use strict';
// permessage-deflate settings for the Node interop peers, chosen with `--deflate MODE`:
//   takeover     context takeover both ways, 2^15 windows (the default)
//   no-takeover  server_no_context_takeover and client_no_context_takeover
//   window9      server_max_window_bits=9 and client_max_window_bits=9
//   window8      server_max_window_bits=8 and client_max_window_bits=8
//   off          no compression
// Every message is compressed, however short (threshold 0).

const MODES = {
  takeover: {},
  'no-takeover': { serverNoContextTakeover: true, clientNoContextTakeover: true },
  window9: { serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
  window8: { serverMaxWindowBits: 8, clientMaxWindowBits: 8 },
};

/** Removes `--deflate MODE` from argv; returns { mode, perMessageDeflate }. */
function fromArgv(argv) {
  let mode = 'takeover';
  const i = argv.indexOf('--deflate');
  if (i >= 0) {
    mode = argv[i + 1];
    argv.splice(i, 2);
  }
  if (mode === 'off') return { mode, perMessageDeflate: false };
  if (!(mode in MODES)) {
    console.error(`unknown --deflate mode ${JSON.stringify(mode)}`);
    process.exit(2);
  }
  return { mode, perMessageDeflate: { ...MODES[mode], threshold: 0 } };
}

module.exports = { fromArgv };

// Reference peer: the smallest node:http server answering every request with the same
// bytes (no routing, no auth). Shows what the runtime itself does on this machine.
'use strict';
const http = require('node:http');
const fs = require('node:fs');
const { Buffer } = require('node:buffer');
const [file, port] = process.argv.slice(2);
const body = fs.readFileSync(file, 'latin1');
http
  .createServer((req, res) => {
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(Buffer.byteLength(body, 'latin1')),
    });
    res.end(body, 'latin1');
  })
  .listen(Number(port), '127.0.0.1');

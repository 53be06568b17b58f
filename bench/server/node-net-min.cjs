// Reference peer: the least a Node process can do per request on a plain TCP socket:
// no HTTP parser, no routing, no auth; each "\r\n\r\n" seen ends a request and gets the
// same precomputed answer (head + body, one latin1 string write). pxm's fast lane sits
// on the same net.Socket path, so this is the ceiling of that path on this machine.
'use strict';
const net = require('node:net');
const fs = require('node:fs');
const [file, port] = process.argv.slice(2);
const body = fs.readFileSync(file, 'latin1');
const answer =
  'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n' +
  `Content-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body}`;
net
  .createServer({ noDelay: true }, (socket) => {
    let tail = ''; // the end of the previous chunk, for a "\r\n\r\n" split across reads
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      const text = tail + chunk;
      let out = '';
      for (let at = text.indexOf('\r\n\r\n'); at >= 0; at = text.indexOf('\r\n\r\n', at + 4))
        out += answer;
      tail = text.slice(-3);
      if (out) socket.write(out, 'latin1');
    });
    socket.on('error', () => {});
  })
  .listen(Number(port), '127.0.0.1');

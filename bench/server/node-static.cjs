// Reference peer: the smallest node:http server answering every request with the same
// bytes (no routing, no auth). Shows what the runtime itself does on this machine.
// With PROCS > 1 it runs that many processes on one shared socket (node:cluster, the
// kernel spreading connections), as `pxm server --http-workers PROCS` does.
'use strict';
const cluster = require('node:cluster');
const http = require('node:http');
const fs = require('node:fs');
const { Buffer } = require('node:buffer');
const [file, port, procs = '1'] = process.argv.slice(2);
cluster.schedulingPolicy = cluster.SCHED_NONE;
if (cluster.isPrimary && Number(procs) > 1) {
  for (let i = 0; i < Number(procs); i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
    process.exit(0);
  });
} else {
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
}

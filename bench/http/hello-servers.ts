// Reference servers for bench/http, each run as its own process so the load generator never
// shares their thread: a bare uWebSockets.js endpoint and a bare node:http endpoint, both
// answering every request (any method, body read and dropped) with a small JSON body.
//
//   node --import=tsx bench/http/hello-servers.ts uws|node
// prints the port it listens on (127.0.0.1) on stdout.
import http from 'node:http';
import { loadUws } from '../../ts/gateway/uws.js';

const BODY = '{"status":"SEND_OK"}';
const kind = process.argv[2];

if (kind === 'uws') {
  const uws = loadUws();
  uws.App().any('/*', (res) => {
    res.onAborted(() => undefined);
    res.onData((_chunk, isLast) => {
      if (isLast) res.cork(() => res.writeHeader('content-type', 'application/json').end(BODY));
    });
  }).listen('127.0.0.1', 0, (socket) => {
    if (socket === false) process.exit(1);
    process.stdout.write(`${uws.us_socket_local_port(socket as never)}\n`);
  });
} else if (kind === 'node') {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(BODY);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : 0}\n`);
  });
} else {
  process.stderr.write('usage: hello-servers.ts uws|node\n');
  process.exit(2);
}
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { ConnectionClosedError, TimeoutError, silentLogger } from '../../../ts/common/index.js';
import {
  FLAG_ONEWAY, RequestCode, ResponseCode, encodeFrame, makeRequest, makeResponse, type RemotingCommand,
} from '../../../ts/protocol/index.js';
import {
  RemotingClient, RemotingServer, type CloseInfo, type RemotingConnection, type RemotingServerOptions,
  type RequestContext,
} from '../../../ts/remoting/index.js';
import { rawPeer, sleep, waitFor } from '../../helpers/raw-socket.js';

const ECHO = 1000;
const THROW = 1001;
const REJECT = 1002;
const PARK = 1003;
const BIG = 1004;
const RAW = 1005;

interface Harness {
  server: RemotingServer;
  port: number;
  address: string;
  parked: RequestContext[];
  closes: Array<{ connection: RemotingConnection; info: CloseInfo }>;
  onewayCalls: number;
}

async function startServer(t: import('ava').ExecutionContext, options: RemotingServerOptions = {}): Promise<Harness> {
  const server = new RemotingServer({ logger: silentLogger, ...options });
  const harness: Harness = { server, port: 0, address: '', parked: [], closes: [], onewayCalls: 0 };
  server.registerProcessor(ECHO, (request) => {
    if ((request.flag & FLAG_ONEWAY) !== 0) harness.onewayCalls += 1;
    return makeResponse(request, ResponseCode.SUCCESS, { extFields: { echo: request.extFields['v'] ?? '' }, body: request.body });
  });
  server.registerProcessor(THROW, () => {
    throw new Error('boom in handler');
  });
  server.registerProcessor(REJECT, async () => {
    await sleep(1);
    throw new Error('async boom');
  });
  server.registerProcessor(PARK, (_request, context) => {
    harness.parked.push(context);
  });
  server.registerProcessor(BIG, (request) => makeResponse(request, 0, { body: Buffer.alloc(256 * 1024, 1) }));
  server.onClose((connection, info) => harness.closes.push({ connection, info }));
  const { port } = await server.listen('127.0.0.1', 0);
  harness.port = port;
  harness.address = `127.0.0.1:${port}`;
  t.teardown(() => server.close());
  return harness;
}

function client(t: import('ava').ExecutionContext): RemotingClient {
  const remoting = new RemotingClient({ logger: silentLogger });
  t.teardown(() => remoting.close());
  return remoting;
}

function request(code: number, opaque: number, options: { oneway?: boolean; v?: string } = {}): RemotingCommand {
  const command = makeRequest(code, { oneway: options.oneway, extFields: options.v === undefined ? {} : { v: options.v } });
  command.opaque = opaque;
  return command;
}

test('request/response echoes the opaque and sets the response flag (JSON and binary requests)', async (t) => {
  const { port, address } = await startServer(t);
  const peer = await rawPeer(port);
  peer.send(request(ECHO, 42, { v: 'json' }), 0);
  peer.send(request(ECHO, 43, { v: 'binary' }), 1);
  const first = await peer.next();
  const second = await peer.next();
  t.like(first, { code: 0, opaque: 42, flag: 1, extFields: { echo: 'json' } });
  t.like(second, { code: 0, opaque: 43, flag: 1, extFields: { echo: 'binary' } });
  peer.socket.destroy();

  const response = await client(t).invoke(address, makeRequest(ECHO, { extFields: { v: 'x' }, body: Buffer.from('b') }));
  t.is(response.code, ResponseCode.SUCCESS);
  t.is(response.extFields['echo'], 'x');
  t.deepEqual(response.body, Buffer.from('b'));
});

test('a oneway request is handled but never answered', async (t) => {
  const harness = await startServer(t);
  const peer = await rawPeer(harness.port);
  peer.send(request(ECHO, 1, { oneway: true }));
  peer.send(request(THROW, 2, { oneway: true }));
  peer.send(request(ECHO, 3));
  const reply = await peer.next();
  t.is(reply.opaque, 3);
  await sleep(50);
  t.is(peer.received.length, 0);
  t.is(harness.onewayCalls, 1);
  peer.socket.destroy();
});

test('an unknown request code gets REQUEST_CODE_NOT_SUPPORTED with the Java remark', async (t) => {
  const { address } = await startServer(t);
  const response = await client(t).invoke(address, makeRequest(4242));
  t.is(response.code, ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
  t.is(response.remark, ' request type 4242 not supported');
});

test('handler exceptions become SYSTEM_ERROR with the message and the server stays up', async (t) => {
  const { address } = await startServer(t);
  const remoting = client(t);
  const thrown = await remoting.invoke(address, makeRequest(THROW));
  t.is(thrown.code, ResponseCode.SYSTEM_ERROR);
  t.is(thrown.remark, 'boom in handler');
  const rejected = await remoting.invoke(address, makeRequest(REJECT));
  t.is(rejected.code, ResponseCode.SYSTEM_ERROR);
  t.is(rejected.remark, 'async boom');
  t.is((await remoting.invoke(address, makeRequest(ECHO))).code, ResponseCode.SUCCESS);
});

test('a malformed frame closes only that connection', async (t) => {
  const harness = await startServer(t);
  const good = await rawPeer(harness.port);
  const bad = await rawPeer(harness.port);
  bad.socket.write(Buffer.from([0, 0, 0, 12, 7, 0, 0, 2, 0x7b, 0x7d, 0, 0, 0, 0, 0, 0])); // serialize type 7
  await bad.closed;
  const garbage = await rawPeer(harness.port);
  garbage.socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  await garbage.closed;
  good.send(request(ECHO, 9));
  t.is((await good.next()).opaque, 9);
  await waitFor(() => harness.closes.length >= 2, 5000, 'close events');
  t.deepEqual(harness.closes.map(({ info }) => info.reason), ['protocol-error', 'protocol-error']);
  t.is(harness.server.connections.size, 1);
  good.socket.destroy();
});

test('a client that stops reading is disconnected with a bounded write queue', async (t) => {
  const writeQueueBytesMax = 1024 * 1024;
  const harness = await startServer(t, { writeQueueBytesMax });
  const peer = await rawPeer(harness.port, { paused: true });
  // Each request draws a 256 KiB response; the peer never reads, so the kernel buffers fill
  // and then the server's queue grows until it crosses the bound.
  for (let opaque = 1; opaque <= 400 && !peer.socket.destroyed; opaque += 1) {
    peer.send(request(BIG, opaque));
    if (opaque % 20 === 0) await sleep(5);
  }
  await waitFor(() => harness.closes.length === 1, 20_000, 'server to close the slow connection');
  const { info } = harness.closes[0]!;
  t.is(info.reason, 'write-queue-overflow');
  const frameBytes = encodeFrame(makeResponse(request(BIG, 1), 0, { body: Buffer.alloc(256 * 1024) })).length;
  t.true(info.pendingWriteBytes > writeQueueBytesMax);
  t.true(info.pendingWriteBytes <= writeQueueBytesMax + frameBytes, `pending ${info.pendingWriteBytes}`);
  peer.socket.destroy();
});

test('requests beyond the in-flight limit get SYSTEM_BUSY; parked requests reply later', async (t) => {
  const harness = await startServer(t, { inflightRequestsMax: 2 });
  const remoting = client(t);
  const first = remoting.invoke(harness.address, makeRequest(PARK));
  const second = remoting.invoke(harness.address, makeRequest(PARK));
  await waitFor(() => harness.parked.length === 2, 5000, 'two parked requests');
  const busy = await remoting.invoke(harness.address, makeRequest(ECHO));
  t.is(busy.code, ResponseCode.SYSTEM_BUSY);
  for (const [index, context] of harness.parked.entries()) {
    t.true(context.reply(makeResponse(context.request, 0, { remark: `late ${index}` })));
    t.false(context.reply(makeResponse(context.request, 0)), 'a second reply is refused');
  }
  t.is((await first).remark, 'late 0');
  t.is((await second).remark, 'late 1');
  t.is((await remoting.invoke(harness.address, makeRequest(ECHO))).code, ResponseCode.SUCCESS);
});

test('the server can invoke the client over the same connection (request and oneway)', async (t) => {
  const harness = await startServer(t);
  const remoting = client(t);
  const notified: string[] = [];
  remoting.registerProcessor(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, (request) => {
    notified.push(request.extFields['consumerGroup'] ?? '');
  });
  remoting.registerProcessor(RequestCode.GET_CONSUMER_RUNNING_INFO, (request) =>
    makeResponse(request, 0, { body: Buffer.from('running') }));
  const connected = new Promise<RemotingConnection>((resolve) => harness.server.onConnect(resolve));
  await remoting.invoke(harness.address, makeRequest(ECHO));
  const connection = await connected;
  const response = await harness.server.invoke(connection, makeRequest(RequestCode.GET_CONSUMER_RUNNING_INFO), 3000);
  t.is(response.code, 0);
  t.deepEqual(response.body, Buffer.from('running'));
  t.true(harness.server.invokeOneway(connection, makeRequest(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, {
    extFields: { consumerGroup: 'g1' },
  })));
  await waitFor(() => notified.length === 1, 5000, 'notification');
  t.deepEqual(notified, ['g1']);
  const unsupported = await harness.server.invoke(connection, makeRequest(4321), 3000);
  t.is(unsupported.code, ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
});

test('timeouts are typed, closes reject pending requests, and the client reconnects on next use', async (t) => {
  const harness = await startServer(t);
  const remoting = client(t);
  await t.throwsAsync(remoting.invoke(harness.address, makeRequest(PARK), 100), { instanceOf: TimeoutError });
  // The late reply is dropped by the client without harm.
  harness.parked[0]!.reply(makeResponse(harness.parked[0]!.request, 0));
  const pending = remoting.invoke(harness.address, makeRequest(PARK), 10_000);
  await waitFor(() => harness.parked.length === 2, 5000, 'parked');
  harness.parked[1]!.connection.close();
  await t.throwsAsync(pending, { instanceOf: ConnectionClosedError });
  t.is((await remoting.invoke(harness.address, makeRequest(ECHO))).code, 0);
  t.is(harness.server.connections.size, 1);
});

test('raw frames: header first, body written later, later frames wait behind it', async (t) => {
  const harness = await startServer(t);
  harness.server.registerProcessor(RAW, (request, context) => {
    const writer = context.replyRaw(makeResponse(request, 0, { extFields: { parts: '3' } }), 9);
    if (writer === null) return;
    writer.write(Buffer.from('abc'));
    setTimeout(() => {
      writer.write(Buffer.from('def'));
      setTimeout(() => writer.write(Buffer.from('ghi')), 10);
    }, 20);
  });
  const peer = await rawPeer(harness.port);
  peer.send(request(RAW, 1));
  peer.send(request(ECHO, 2, { v: 'after' }));
  const raw = await peer.next();
  const echo = await peer.next();
  t.is(raw.opaque, 1);
  t.deepEqual(raw.body, Buffer.from('abcdefghi'));
  t.is(echo.opaque, 2);
  t.is(echo.extFields['echo'], 'after');
  peer.socket.destroy();
});

test('transfer frames: the body goes straight to the socket fd, in order with other frames', async (t) => {
  const harness = await startServer(t);
  const TRANSFER = 1006;
  const { writeSync } = await import('node:fs');
  let transfers = 0;
  harness.server.registerProcessor(TRANSFER, (request, context) => {
    const body = Buffer.from('sent-by-the-transfer');
    context.replyTransfer(makeResponse(request, 0), body.length, async (fd) => {
      transfers++;
      await sleep(20); // later frames must wait for the transfer
      return writeSync(fd, body);
    });
  });
  const peer = await rawPeer(harness.port);
  peer.send(request(ECHO, 1, { v: 'before' }));
  peer.send(request(TRANSFER, 2));
  peer.send(request(ECHO, 3, { v: 'after' }));
  const frames = [await peer.next(), await peer.next(), await peer.next()];
  t.deepEqual(frames.map((f) => f.opaque), [1, 2, 3]);
  t.deepEqual(frames[1]!.body, Buffer.from('sent-by-the-transfer'));
  t.is(frames[2]!.extFields['echo'], 'after');
  t.is(transfers, 1);
  peer.socket.destroy();
});

test('a short transfer closes only its own connection', async (t) => {
  const harness = await startServer(t);
  const SHORT = 1007;
  harness.server.registerProcessor(SHORT, (request, context) => {
    context.replyTransfer(makeResponse(request, 0), 100, async () => 10);
  });
  const victim = await rawPeer(harness.port);
  const bystander = await rawPeer(harness.port);
  victim.send(request(SHORT, 1));
  await victim.closed;
  bystander.send(request(ECHO, 2, { v: 'still fine' }));
  t.is((await bystander.next()).extFields['echo'], 'still fine');
  bystander.socket.destroy();
});

test('idle connections are closed; connections over the limit are refused', async (t) => {
  const harness = await startServer(t, { idleTimeoutMs: 100, connectionsMax: 1 });
  const first = await rawPeer(harness.port);
  const second = await rawPeer(harness.port);
  await second.closed;
  await first.closed;
  t.is(harness.closes.length, 1);
  t.is(harness.closes[0]!.info.reason, 'idle');
});

test('closing the client releases every socket and timer: the process exits on its own', async (t) => {
  const harness = await startServer(t);
  const fixture = fileURLToPath(new URL('../../fixtures/remoting-client-exit.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, String(harness.port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exitCode = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  t.is(exitCode, 0, `child did not exit by itself; stderr: ${stderr}`);
  const summary = JSON.parse(stdout) as Record<string, unknown>;
  // A connect to a black-hole address is either still pending at close (CLOSED) or refused at
  // once by a host without a route (CONNECT_FAILED); both must settle.
  t.true(summary['connecting'] === 'CLOSED' || summary['connecting'] === 'CONNECT_FAILED');
  delete summary['connecting'];
  t.deepEqual(summary, { ok: 0, pending: 'CONNECTION_CLOSED', timedOut: 'TIMEOUT', refused: 'CONNECT_FAILED', afterClose: 'CLOSED' });
});

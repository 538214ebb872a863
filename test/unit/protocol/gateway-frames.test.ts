// The gateway's FlatBuffers frames: every frame type round-trips through the generated code
// (flatc 2.0.8 output, flatbuffers 25.x runtime); mutated and truncated frames decode or fail
// with ProtocolError, never anything else; the committed generated code matches the schema.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProtocolError } from '../../../ts/common/errors.js';
import { decodeGatewayFrame, encodeGatewayFrame, type GatewayFrame } from '../../../ts/protocol/gateway-frames.js';
import { Prng, testSeed } from '../../helpers/prng.js';

const body = new Uint8Array([0, 1, 2, 253, 254, 255]);
const FRAMES: GatewayFrame[] = [
  { type: 'produce', requestId: 1, topic: 'T', queueId: -1, messages: [
    { body, tags: 'TagA', keys: ['k1', 'k2'], properties: { a: '1', 'Mixed-Case': 'héllo ✓' }, delayLevel: 3, deliverTimeMs: 1_800_000_000_000, msgId: '7F00000100002A9F0000000000000001' },
    { body: new Uint8Array(0), keys: [], properties: {} },
  ] },
  { type: 'produceAck', requestId: 2 ** 40, status: 'SEND_OK', queueId: 3, queueOffset: 2 ** 45, msgIds: ['A', 'B'], offsetMsgIds: ['C', 'D'] },
  { type: 'subscribe', requestId: 3, group: 'g', topic: 'T', expression: 'A || B', initMode: 'last', visibilityMs: 5000, credit: 64 },
  { type: 'subscribed', requestId: 3, subscriptionId: 9 },
  { type: 'unsubscribe', subscriptionId: 9 },
  { type: 'credit', subscriptionId: 9, messages: 100 },
  { type: 'deliver', subscriptionId: 9, receiptHandle: 'rh', deliveryAttempt: 2, msgId: 'M', offsetMsgId: 'O', topic: 'T', queueId: 1, queueOffset: 77,
    tags: 'TagA', keys: ['k'], properties: { x: 'y' }, body, bornTimestamp: 1_700_000_000_123, storeTimestamp: 1_700_000_000_456 },
  { type: 'ack', requestId: 4, receiptHandles: ['r1', 'r2'] },
  { type: 'nack', requestId: 5, receiptHandles: ['r3'], delayMs: 1000 },
  { type: 'settled', requestId: 5, settled: 1, stale: ['r4'] },
  { type: 'error', requestId: 6, code: 'BAD_REQUEST', message: 'no such topic' },
];

for (const frame of FRAMES) {
  test(`a ${frame.type} frame round-trips`, (t) => {
    const decoded = decodeGatewayFrame(encodeGatewayFrame(frame));
    if (frame.type === 'produce' && decoded.type === 'produce') {
      // Absent optional fields come back as their schema defaults.
      t.deepEqual(decoded.messages[1], { body: new Uint8Array(0), keys: [], properties: {} });
      t.deepEqual(decoded.messages[0], frame.messages[0]);
      t.like(decoded, { requestId: 1, topic: 'T', queueId: -1 });
      return;
    }
    t.deepEqual(decoded, frame);
  });
}

test('mutated and truncated frames decode or throw ProtocolError, never anything else', (t) => {
  const prng = new Prng(testSeed(0x6a7e));
  t.log(`seed ${prng.seed}`);
  const encoded = FRAMES.map((f) => encodeGatewayFrame(f));
  let rejected = 0;
  for (let round = 0; round < 20_000; round += 1) {
    const source = prng.pick(encoded);
    let bytes = Uint8Array.from(source);
    const mutation = prng.int(0, 2);
    if (mutation === 0) bytes = bytes.subarray(0, prng.int(0, bytes.length));
    else for (let flips = prng.int(1, 4); flips > 0; flips -= 1) bytes[prng.int(0, bytes.length - 1)] = prng.int(0, 255);
    if (mutation === 2) bytes = Uint8Array.from([...bytes, ...Array.from({ length: prng.int(1, 16) }, () => prng.int(0, 255))]);
    try {
      decodeGatewayFrame(bytes);
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        t.fail(`round ${round}: ${String(error)} for ${Buffer.from(bytes).toString('hex')}`);
        return;
      }
      rejected += 1;
    }
  }
  t.true(rejected > 0, 'some mutations must be rejected');
  t.log(`${rejected} of 20000 mutated frames rejected`);
});

test('the committed generated code is what flatc makes of schema/gateway.fbs', (t) => {
  const flatc = spawnSync('flatc', ['--version'], { encoding: 'utf8' });
  if (flatc.status !== 0) {
    if (process.env['CI'] === 'true') t.fail('flatc is missing (CI=true: .ci/run installs flatbuffers-compiler)');
    else t.log('flatc not installed here: up-to-date check not run (apt-get install flatbuffers-compiler)');
    if (process.env['CI'] !== 'true') t.pass();
    return;
  }
  const out = mkdtempSync(path.join(tmpdir(), 'bolide-flatc-'));
  try {
    execFileSync('flatc', ['--ts', '--ts-flat-files', '-o', out, 'schema/gateway.fbs']);
    t.is(readFileSync(path.join(out, 'gateway_generated.ts'), 'utf8'), readFileSync('ts/protocol/gateway-frames/gateway_generated.ts', 'utf8'),
      'regenerate: flatc --ts --ts-flat-files -o ts/protocol/gateway-frames schema/gateway.fbs');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

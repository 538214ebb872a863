// Property tests of the frame decoder: valid streams round-trip under any chunking, and any
// byte stream (random or a mutated valid one) yields commands or a ProtocolError, never another
// exception and never a hang. Seeded; the seed is logged (replay with BOLIDE_TEST_SEED).

import test from 'ava';
import {
  FrameDecoder, ProtocolError, decodeBatch, decodeBinaryHeader, decodeJsonHeader, decodeStoredMessages,
  encodeBatch, encodeFrame, encodeStoredMessage, LanguageCode, type LanguageName, type RemotingCommand,
} from '../../../ts/protocol/index.js';
import { Prng, testSeed } from '../../helpers/prng.js';

const FRAME_BYTES_MAX = 64 * 1024;
const languages = Object.keys(LanguageCode) as LanguageName[];

function randomCommand(prng: Prng): RemotingCommand {
  const command: RemotingCommand = {
    code: prng.int(0, 0x7fff),
    language: prng.pick(languages),
    version: prng.int(0, 0x7fff),
    opaque: prng.int(-0x80000000, 0x7fffffff),
    flag: prng.int(0, 3),
    extFields: {},
  };
  if (prng.bool()) command.remark = prng.text(prng.int(1, 40));
  for (let i = prng.int(0, 6); i > 0; i -= 1) command.extFields[prng.text(prng.int(1, 8))] = prng.text(prng.int(1, 30));
  if (prng.bool(0.7)) command.body = prng.bytes(prng.int(1, prng.bool(0.1) ? 20_000 : 300));
  return command;
}

/** Splits `stream` into random chunks (sometimes 1 byte, sometimes large). */
function chunks(prng: Prng, stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; ) {
    const size = prng.bool(0.2) ? 1 : prng.int(1, 4096);
    out.push(stream.subarray(i, i + size));
    i += size;
  }
  return out;
}

function mutate(prng: Prng, stream: Buffer): Buffer {
  const bytes = Buffer.from(stream);
  switch (prng.int(0, 4)) {
    case 0: // flip random bytes
      for (let i = prng.int(1, 8); i > 0 && bytes.length > 0; i -= 1) bytes[prng.int(0, bytes.length - 1)] = prng.int(0, 255);
      return bytes;
    case 1: // truncate
      return bytes.subarray(0, prng.int(0, bytes.length));
    case 2: // random length prefix on the first frame
      if (bytes.length >= 4) bytes.writeInt32BE(prng.int(-0x80000000, 0x7fffffff), 0);
      return bytes;
    case 3: // random header word (serialize type / header length)
      if (bytes.length >= 8) bytes.writeUInt32BE(prng.int(0, 0xffffffff), 4);
      return bytes;
    default: // insert random bytes
      return Buffer.concat([bytes.subarray(0, prng.int(0, bytes.length)), prng.bytes(prng.int(1, 16)), bytes]);
  }
}

/**
 * Feeds `stream` and drains. Returns the number of commands; rethrows non-protocol errors so
 * the test fails. The loop is bounded by construction: each command consumes >= 8 bytes.
 */
function feed(prng: Prng, stream: Buffer): { commands: RemotingCommand[]; error: ProtocolError | null } {
  const decoder = new FrameDecoder({ frameBytesMax: FRAME_BYTES_MAX });
  const commands: RemotingCommand[] = [];
  try {
    for (const chunk of chunks(prng, stream)) {
      decoder.push(chunk);
      for (let command = decoder.next(); command !== null; command = decoder.next()) {
        commands.push(command);
        if (commands.length > stream.length / 8) throw new Error('decoder produced more frames than bytes allow');
      }
    }
  } catch (error) {
    if (error instanceof ProtocolError) return { commands, error };
    throw error;
  }
  return { commands, error: null };
}

test('random valid streams round-trip under random chunking', (t) => {
  const seed = testSeed(0x5eed0001);
  t.log(`seed ${seed}`);
  const prng = new Prng(seed);
  for (let round = 0; round < 300; round += 1) {
    const commands = Array.from({ length: prng.int(1, 8) }, () => randomCommand(prng));
    const stream = Buffer.concat(commands.map((command) => encodeFrame(command, prng.pick([0, 1] as const))));
    const result = feed(prng, stream);
    t.is(result.error, null);
    t.deepEqual(result.commands, commands);
  }
});

test('mutated and random streams yield frames or a ProtocolError, nothing else', (t) => {
  const seed = testSeed(0x5eed0002);
  t.log(`seed ${seed}`);
  const prng = new Prng(seed);
  let errors = 0;
  let frames = 0;
  for (let round = 0; round < 4000; round += 1) {
    let stream: Buffer;
    if (round % 4 === 0) {
      stream = prng.bytes(prng.int(0, 200));
    } else {
      const commands = Array.from({ length: prng.int(1, 3) }, () => randomCommand(prng));
      stream = Buffer.concat(commands.map((command) => encodeFrame(command, prng.pick([0, 1] as const))));
      stream = mutate(prng, stream);
    }
    const result = feed(prng, stream);
    frames += result.commands.length;
    if (result.error !== null) errors += 1;
  }
  t.log(`${frames} frames decoded, ${errors} streams rejected`);
  t.true(errors > 500, 'mutations should mostly be detected');
});

test('header decoders given arbitrary bytes throw only ProtocolError', (t) => {
  const seed = testSeed(0x5eed0003);
  t.log(`seed ${seed}`);
  const prng = new Prng(seed);
  for (let round = 0; round < 3000; round += 1) {
    const base = encodeFrame(randomCommand(prng), round % 2 === 0 ? 0 : 1);
    const header = mutate(prng, base.subarray(8, 8 + (base.readUInt32BE(4) & 0xffffff)));
    for (const decode of [decodeJsonHeader, decodeBinaryHeader]) {
      try {
        decode(header);
      } catch (error) {
        if (!(error instanceof ProtocolError)) t.fail(`non-protocol error ${String(error)} (round ${round})`);
      }
    }
  }
  t.pass();
});

test('batch and stored-message decoders given mutated bytes throw only ProtocolError', (t) => {
  const seed = testSeed(0x5eed0004);
  t.log(`seed ${seed}`);
  const prng = new Prng(seed);
  for (let round = 0; round < 2000; round += 1) {
    const batch = encodeBatch([{ flag: 1, body: prng.bytes(prng.int(0, 50)), properties: { UNIQ_KEY: 'A', TAGS: 't' } }]);
    const record = encodeStoredMessage({
      queueId: 1, flag: 0, queueOffset: round, commitLogOffset: round * 100, sysFlag: 0, bornTimestamp: 1,
      bornHost: { address: prng.bool() ? '10.0.0.1' : '::1', port: 1 }, storeTimestamp: 2,
      storeHost: { address: '10.0.0.2', port: 10911 }, reconsumeTimes: 0, preparedTransactionOffset: 0,
      body: prng.bytes(prng.int(0, 50)), topic: 'T', properties: { KEYS: 'k' },
    });
    for (const [decode, input] of [[decodeBatch, batch], [decodeStoredMessages, record]] as const) {
      try {
        decode(mutate(prng, input));
      } catch (error) {
        if (!(error instanceof ProtocolError)) t.fail(`non-protocol error ${String(error)} (round ${round})`);
      }
    }
  }
  t.pass();
});

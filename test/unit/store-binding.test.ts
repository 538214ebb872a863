import test from 'ava';
import { createRequire } from 'node:module';
import { engineVersion } from '../../ts/store/index.js';
import { tempDir } from '../support/temp.js';

test('the native engine loads and reports its format version', (t) => {
  t.is(engineVersion(), 1);
});

// appendOne is a plain N-API function (native/src/raw_call.rs), so its argument checks are
// ours rather than napi-rs's: every bad argument must come back as a JS error with a code.
interface RawBinding {
  NativeStore: new (options: Record<string, unknown>) => { fastHandle: number; close(): void; commitLogMaxOffset(): number };
  registerTopic(handle: number, name: string): number;
  appendOne(...args: unknown[]): number;
}
const binding = createRequire(import.meta.url)('../../ts/store/binding.cjs') as RawBinding;
test('the raw appendOne refuses each malformed argument with a coded error and stores nothing until given good ones', (t) => {
  const store = new binding.NativeStore({ storePathRootDir: tempDir(t), diskMaxUsedSpaceRatio: 99, diskCleanForciblyRatio: 99, diskFullRatio: 100, deleteWhen: [] });
  t.teardown(() => store.close());
  const handle = store.fastHandle;
  const topic = binding.registerTopic(handle, 'RawChecked');
  // [queueId, sysFlag, flag, bornTimestamp, reconsumeTimes, preparedTransactionOffset,
  //  born port, address words, address...]: 127.0.0.1:9876
  const io = (...changes: Array<[number, number]>) => {
    const numbers = new Float64Array([0, 0, 0, 1_700_000_000_000, 0, 0, 9876, 1, 0x7f000001, 0, 0, 0]);
    for (const [at, value] of changes) numbers[at] = value;
    return numbers;
  };
  const body = Buffer.from('body');
  const props = Buffer.alloc(0);
  const cases: Array<[string, unknown[], string]> = [
    ['no arguments', [], 'INVALID_ARGUMENT'],
    ['handle not a number', ['1', topic, body, props, io()], 'INVALID_ARGUMENT'],
    ['unknown topic id', [handle, topic + 99, body, props, io()], 'INVALID_ARGUMENT'],
    ['body a string', [handle, topic, 'body', props, io()], 'INVALID_ARGUMENT'],
    ['properties missing', [handle, topic, body, undefined, io()], 'INVALID_ARGUMENT'],
    ['io a Uint8Array', [handle, topic, body, props, new Uint8Array(96)], 'INVALID_ARGUMENT'],
    ['io too short', [handle, topic, body, props, new Float64Array(6)], 'INVALID_ARGUMENT'],
    ['a fractional queueId', [handle, topic, body, props, io([0, 0.5])], 'INVALID_ARGUMENT'],
    ['a born port past 65535', [handle, topic, body, props, io([6, 65536])], 'INVALID_ARGUMENT'],
    ['two address words', [handle, topic, body, props, io([7, 2])], 'INVALID_ARGUMENT'],
    ['an address word past 32 bits', [handle, topic, body, props, io([8, 2 ** 32])], 'INVALID_ARGUMENT'],
    ['a store handle nobody issued', [handle + 7, topic, body, props, io()], 'CLOSED'],
  ];
  for (const [what, args, code] of cases) {
    const error = t.throws(() => binding.appendOne(...args), undefined, what);
    t.is((error as { code?: string } | undefined)?.code, code, `${what}: ${error?.message}`);
  }
  t.is(store.commitLogMaxOffset(), 0, 'nothing was stored');
  const out = io();
  t.is(binding.appendOne(handle, topic, body, props, out), 0);
  t.deepEqual([out[0], out[2]! > 0], [0, true], 'queue offset 0 and a record size come back in io');
});

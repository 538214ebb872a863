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
const LOOPBACK = Buffer.from([127, 0, 0, 1, 0, 0, 0, 0]);

test('the raw appendOne refuses each malformed argument with a coded error and stores nothing until given good ones', (t) => {
  const store = new binding.NativeStore({ storePathRootDir: tempDir(t), diskMaxUsedSpaceRatio: 99, diskCleanForciblyRatio: 99, diskFullRatio: 100, deleteWhen: [] });
  t.teardown(() => store.close());
  const handle = store.fastHandle;
  const topic = binding.registerTopic(handle, 'RawChecked');
  const io = () => new Float64Array([0, 0, 0, 1_700_000_000_000, 0, 0]);
  const body = Buffer.from('body');
  const props = Buffer.alloc(0);
  const cases: Array<[string, unknown[], string]> = [
    ['no arguments', [], 'INVALID_ARGUMENT'],
    ['handle not a number', ['1', topic, LOOPBACK, body, props, io()], 'INVALID_ARGUMENT'],
    ['unknown topic id', [handle, topic + 99, LOOPBACK, body, props, io()], 'INVALID_ARGUMENT'],
    ['born host of the wrong length', [handle, topic, Buffer.alloc(5), body, props, io()], 'INVALID_ARGUMENT'],
    ['body a string', [handle, topic, LOOPBACK, 'body', props, io()], 'INVALID_ARGUMENT'],
    ['properties missing', [handle, topic, LOOPBACK, body, undefined, io()], 'INVALID_ARGUMENT'],
    ['io a Uint8Array', [handle, topic, LOOPBACK, body, props, new Uint8Array(48)], 'INVALID_ARGUMENT'],
    ['io too short', [handle, topic, LOOPBACK, body, props, new Float64Array(3)], 'INVALID_ARGUMENT'],
    ['io with a fractional queueId', [handle, topic, LOOPBACK, body, props, new Float64Array([0.5, 0, 0, 0, 0, 0])], 'INVALID_ARGUMENT'],
    ['a store handle nobody issued', [handle + 7, topic, LOOPBACK, body, props, io()], 'CLOSED'],
  ];
  for (const [what, args, code] of cases) {
    const error = t.throws(() => binding.appendOne(...args), undefined, what);
    t.is((error as { code?: string } | undefined)?.code, code, `${what}: ${error?.message}`);
  }
  t.is(store.commitLogMaxOffset(), 0, 'nothing was stored');
  const out = io();
  t.is(binding.appendOne(handle, topic, LOOPBACK, body, props, out), 0);
  t.deepEqual([out[0], out[2]! > 0], [0, true], 'queue offset 0 and a record size come back in io');
});

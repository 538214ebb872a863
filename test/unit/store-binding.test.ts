import test from 'ava';
import { engineVersion } from '../../ts/store/index.js';

test('the native engine loads and reports its format version', (t) => {
  t.is(engineVersion(), 1);
});

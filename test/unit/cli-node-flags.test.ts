// The V8 flags a broker runs with are the same everywhere it is started.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { BROKER_NODE_FLAGS } from '../../ts/cli/node-flags.js';

test('the bolide shebang and npm start pass BROKER_NODE_FLAGS to node', (t) => {
  const shebang = readFileSync('ts/cli/main.ts', 'utf8').split('\n')[0];
  t.is(shebang, `#!/usr/bin/env -S node ${BROKER_NODE_FLAGS.join(' ')}`);
  const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts['start'];
  t.is(start, `node ${BROKER_NODE_FLAGS.join(' ')} dist/ts/cli/main.js dev`);
});

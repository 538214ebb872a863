// The napi loader and the .node addon are generated next to ts/store; tsc does not
// copy non-TS files, so the compiled wrapper in dist/ needs them placed beside it.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const source = 'ts/store';
const target = 'dist/ts/store';
mkdirSync(target, { recursive: true });
for (const name of readdirSync(source)) {
  if (name.endsWith('.node') || name === 'binding.cjs') {
    copyFileSync(join(source, name), join(target, name));
  }
}

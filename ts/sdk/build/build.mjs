// Builds the bolide-client package in place: the SDK and the shared protocol/remoting/common code it imports
// are compiled twice, as ES modules (dist/esm) and as CommonJS (dist/cjs), each with .d.ts. The sources stay
// where the broker build also compiles them; only this package's dist is written.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function compile(config) {
  const result = spawnSync(process.execPath, [tsc, '-p', join(packageDir, config)], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`bolide-client: tsc -p ${config} failed`);
    process.exit(result.status ?? 1);
  }
}

rmSync(join(packageDir, 'dist'), { recursive: true, force: true });
compile('tsconfig.build.json');
compile('tsconfig.cjs.json');
// The package is "type": "module"; this marker makes Node load dist/cjs/**/*.js as CommonJS.
mkdirSync(join(packageDir, 'dist', 'cjs'), { recursive: true });
writeFileSync(join(packageDir, 'dist', 'cjs', 'package.json'), '{\n  "type": "commonjs"\n}\n');

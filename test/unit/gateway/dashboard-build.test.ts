// The built dashboard (dashboard/build) is committed so the broker installs and CI runs without
// a front-end build. This test rebuilds it with the pinned Vite into a temporary directory and
// fails when the committed files differ: edit dashboard/src, then `npm run build:dashboard`.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { build } from 'vite';

const root = fileURLToPath(new URL('../../../dashboard/', import.meta.url));

async function files(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const relative = path.join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...await files(dir, relative));
    else out.push(relative);
  }
  return out.sort();
}

test('the committed dashboard/build is what the sources build to (run npm run build:dashboard after editing dashboard/)', async (t) => {
  const outDir = await mkdtemp(path.join(tmpdir(), 'bolide-dashboard-'));
  try {
    await build({ root, configFile: path.join(root, 'vite.config.mjs'), logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    const committed = path.join(root, 'build');
    const expected = await files(outDir);
    t.deepEqual(await files(committed), expected, 'file names differ: the build is stale');
    for (const file of expected) {
      const [fresh, stored] = await Promise.all([readFile(path.join(outDir, file)), readFile(path.join(committed, file))]);
      t.true(fresh.equals(stored), `${file} differs from a fresh build: the build is stale`);
    }
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
});

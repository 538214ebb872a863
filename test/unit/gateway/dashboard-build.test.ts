// The built dashboard (dashboard/build) is committed so the broker installs and CI runs without
// a front-end build step. This test rebuilds it (scripts/build-dashboard.mjs, the pinned esbuild)
// into a temporary directory and fails when the committed files differ: after editing
// dashboard/, run `npm run build:dashboard` and commit dashboard/build.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { buildDashboard } from '../../../scripts/build-dashboard.mjs';

const committed = fileURLToPath(new URL('../../../dashboard/build/', import.meta.url));

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
    const built = await buildDashboard(outDir);
    t.deepEqual(await files(outDir), built);
    t.deepEqual(await files(committed), built, 'file names differ: dashboard/build is stale');
    for (const file of built) {
      const [fresh, stored] = await Promise.all([readFile(path.join(outDir, file)), readFile(path.join(committed, file))]);
      t.true(fresh.equals(stored), `${file} differs from a fresh build: dashboard/build is stale`);
    }
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
});

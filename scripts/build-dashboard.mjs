#!/usr/bin/env node
// Builds the dashboard (dashboard/src, plain TypeScript + CSS) into dashboard/build with esbuild:
// one bundled, minified script and stylesheet with content-hashed names under assets/, and
// index.html (dashboard/index.html with its /src/main.ts entry replaced by the hashed files).
// The output is deterministic, committed, and checked by test/unit/gateway/dashboard-build.test.ts.
//
//   node scripts/build-dashboard.mjs [outDir]     (npm run build:dashboard type-checks first)
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../dashboard/', import.meta.url));
const ENTRY_TAG = '<script type="module" src="/src/main.ts"></script>';

/** Builds into `outDir` (emptied first); returns the files written, relative to it. */
export async function buildDashboard(outDir = path.join(root, 'build')) {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['src/main.ts'],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    outdir: outDir,
    entryNames: 'assets/[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => path.relative(outDir, path.resolve(root, file)));
  const script = outputs.find((file) => file.endsWith('.js'));
  const style = outputs.find((file) => file.endsWith('.css'));
  if (script === undefined) throw new Error('esbuild produced no script');
  const template = await readFile(path.join(root, 'index.html'), 'utf8');
  if (!template.includes(ENTRY_TAG)) throw new Error(`dashboard/index.html must contain ${ENTRY_TAG}`);
  const tags = [
    ...(style === undefined ? [] : [`<link rel="stylesheet" href="/${style}">`]),
    `<script type="module" src="/${script}"></script>`,
  ].join('\n  ');
  await writeFile(path.join(outDir, 'index.html'), template.replace(ENTRY_TAG, tags));
  return ['index.html', ...outputs].sort();
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const files = await buildDashboard(process.argv[2] === undefined ? undefined : path.resolve(process.argv[2]));
  process.stdout.write(`dashboard built: ${files.join(', ')}\n`);
}

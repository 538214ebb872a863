// Enforces the module dependency rules by reading import statements:
//   ts/protocol, ts/common: no I/O modules; protocol imports only common.
//   ts/filter (SQL92 selectors): pure, imports only common; broker and sdk may use it.
//   ts/remoting: may import protocol and common, never server-only code (namesrv, broker, store),
//   because the SDK builds on it.
//   ts/namesrv: protocol, common, remoting only.
//   ts/broker: protocol, common, remoting, store, config (never namesrv: they talk over the wire).
//   ts/gateway: broker (and what it builds on), protocol, common, config; the broker never imports it.
//   ts/sdk: protocol, common, remoting only (never broker, namesrv, store: it ships to users),
//   plus the few builtins it needs and its two pure-JS decompressors (fzstd, lz4js).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const root = fileURLToPath(new URL('../../', import.meta.url));

function sources(dir: string): string[] {
  const out: string[] = [];
  if (!existsSync(join(root, dir))) return out;
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    // ts/sdk/dist and node_modules hold the SDK package's build output, not sources.
    if (entry.isDirectory()) {
      if (entry.name !== 'dist' && entry.name !== 'node_modules') out.push(...sources(path));
    }
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((match) => match[1]!);
}

/** The ts/<module> an import resolves to, or the bare specifier for packages/builtins. */
function target(file: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  const resolved = relative(root, join(root, file, '..', specifier));
  return resolved.split('/').slice(0, 2).join('/');
}

const rules: Record<string, { modules: string[]; builtins: string[] }> = {
  'ts/common': { modules: ['ts/common'], builtins: [] },
  // flatbuffers: the runtime of the generated WebSocket frame code (pure, no I/O).
  'ts/protocol': { modules: ['ts/common', 'ts/protocol'], builtins: ['flatbuffers'] },
  'ts/filter': { modules: ['ts/common', 'ts/filter'], builtins: [] },
  'ts/remoting': { modules: ['ts/common', 'ts/protocol', 'ts/remoting'], builtins: ['node:net'] },
  'ts/namesrv': {
    modules: ['ts/common', 'ts/protocol', 'ts/remoting', 'ts/namesrv'],
    builtins: ['node:fs', 'node:fs/promises', 'node:path'],
  },
  'ts/broker': {
    modules: ['ts/common', 'ts/protocol', 'ts/remoting', 'ts/store', 'ts/config', 'ts/filter', 'ts/broker'],
    builtins: ['node:fs', 'node:path'],
  },
  'ts/gateway': {
    modules: ['ts/common', 'ts/protocol', 'ts/remoting', 'ts/broker', 'ts/config', 'ts/gateway'],
    builtins: ['node:crypto', 'node:fs', 'node:module', 'node:path', 'node:url', 'node:zlib', '@trufflesuite/uws-js-unofficial'],
  },
  'ts/sdk': {
    modules: ['ts/common', 'ts/protocol', 'ts/remoting', 'ts/filter', 'ts/sdk'],
    builtins: ['node:zlib', 'node:os', 'node:crypto', 'node:fs/promises', 'node:path', 'fzstd', 'lz4js'],
  },
};

test('modules import only what the dependency rules allow', (t) => {
  const violations: string[] = [];
  for (const [module, rule] of Object.entries(rules)) {
    for (const file of sources(module)) {
      for (const specifier of imports(file)) {
        const resolved = target(file, specifier);
        const allowed = specifier.startsWith('.') ? rule.modules.includes(resolved) : rule.builtins.includes(specifier);
        if (!allowed) violations.push(`${file} imports ${specifier}`);
        if (specifier.startsWith('.') && !specifier.endsWith('.js')) violations.push(`${file}: ${specifier} lacks .js`);
      }
    }
  }
  t.deepEqual(violations, []);
});

test('the SDK is covered by the rules and imports no server module', (t) => {
  const files = sources('ts/sdk');
  t.true(files.length > 5);
  for (const file of files) {
    for (const specifier of imports(file)) {
      t.false(/\/(broker|namesrv|store|config)\//.test(`${target(file, specifier)}/`), `${file} imports ${specifier}`);
    }
  }
});

test('the SDK has no import cycles', (t) => {
  const graph = new Map<string, string[]>();
  for (const file of sources('ts/sdk')) {
    graph.set(file, imports(file).filter((s) => s.startsWith('./')).map((s) => join('ts/sdk', s.replace(/\.js$/, '.ts'))));
  }
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
      return;
    }
    state.set(file, 'visiting');
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  t.deepEqual(cycles, []);
});

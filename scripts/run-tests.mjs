#!/usr/bin/env node
// Runs every test suite of the project and prints one closing line `N passed, N failed`
// summed over all runners, so CI (and a newcomer) reads one verdict.
//
//   node scripts/run-tests.mjs           full tier: what `npm test` and CI run
//   node scripts/run-tests.mjs --quick   fast tier for the inner loop (unit tests only)
//
// Each suite reports its own counts; a runner that crashes or whose output cannot be
// parsed counts as one failure, so a broken runner can never look green.
import { spawn } from 'node:child_process';

const quick = process.argv.includes('--quick');

/** @typedef {{ passed: number, failed: number, skipped: number }} Counts */

function run(command, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
      process.stderr.write(chunk);
    });
    child.on('error', (error) => resolve({ code: 127, output: output + String(error) }));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** cargo prints one `test result:` line per test binary (unit, integration, doc). */
function parseCargo(output) {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  let seen = false;
  for (const match of output.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/g)) {
    seen = true;
    counts.passed += Number(match[1]);
    counts.failed += Number(match[2]);
    counts.skipped += Number(match[3]);
  }
  return seen ? counts : null;
}

/** ava --tap ends with `# pass N`, `# fail N`, `# skip N` lines. */
function parseTap(output) {
  const pick = (name) => {
    const match = output.match(new RegExp(`^# ${name} (\\d+)$`, 'm'));
    return match ? Number(match[1]) : 0;
  };
  if (!/^# (pass|fail|tests) \d+$/m.test(output)) return null;
  return { passed: pick('pass'), failed: pick('fail'), skipped: pick('skip') + pick('todo') };
}

const suites = [
  {
    name: 'engine (cargo test)',
    command: 'cargo',
    args: ['test', '--release', '-p', 'bolide-store', ...(quick ? ['--lib'] : [])],
    parse: parseCargo,
  },
  {
    name: 'lint (clippy -D warnings, tsc of sources, tests, benches and dashboard)',
    skipInQuick: true,
    command: 'sh',
    args: [
      '-c',
      'cargo clippy --release --workspace --all-targets -- -D warnings && npx tsc -p tsconfig.json --noEmit && npx tsc -p test/tsconfig.json --noEmit && npx tsc -p bench/tsconfig.json --noEmit && npx tsc -p dashboard/tsconfig.json',
    ],
    // A lint pass is one check: it passed or it failed.
    parse: (_output, code) => ({ passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0 }),
  },
  {
    name: 'typescript (ava)',
    command: 'npx',
    args: ['ava', '--tap', ...(quick ? ['test/unit/**/*.test.ts'] : [])],
    parse: parseTap,
  },
];

const total = { passed: 0, failed: 0, skipped: 0 };
const lines = [];
for (const suite of suites) {
  if (quick && suite.skipInQuick) continue;
  process.stdout.write(`\n=== ${suite.name}\n`);
  const { code, output } = await run(suite.command, suite.args, suite.env);
  let counts = suite.parse(output, code);
  if (counts === null) counts = { passed: 0, failed: 1, skipped: 0 };
  // A runner that exits non-zero must show as a failure even if it printed no failed test.
  if (code !== 0 && counts.failed === 0) counts.failed = 1;
  total.passed += counts.passed;
  total.failed += counts.failed;
  total.skipped += counts.skipped;
  lines.push(`${suite.name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
}

process.stdout.write(`\n${lines.join('\n')}\n`);
process.stdout.write(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}\n`);
process.exit(total.failed === 0 ? 0 : 1);

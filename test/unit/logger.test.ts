// Structured logs: JSON lines for collectors, pretty lines on a terminal, a level threshold.
import test from 'ava';
import { createLogger, jsonLogLine } from '../../ts/common/logger.js';

function capture(run: () => void): string[] {
  const lines: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    run();
  } finally {
    process.stderr.write = original;
  }
  return lines;
}

test('json format writes one parseable object per line with time, level, scope, msg and fields', (t) => {
  const lines = capture(() => {
    const logger = createLogger('broker', 'info', 'json');
    logger.info('broker started', { port: 10911, error: new Error('boom'), nested: { a: 1 } });
  });
  t.is(lines.length, 1);
  t.true(lines[0]!.endsWith('\n'));
  const record = JSON.parse(lines[0]!) as Record<string, unknown>;
  t.like(record, { level: 'info', scope: 'broker', msg: 'broker started', port: 10911, error: 'boom', nested: { a: 1 } });
  t.regex(String(record['time']), /^\d{4}-\d{2}-\d{2}T/);
});

test('the level threshold drops lower levels; pretty format is time LEVEL scope message k=v', (t) => {
  const lines = capture(() => {
    const logger = createLogger('namesrv', 'warn', 'pretty');
    logger.info('hidden');
    logger.warn('shown', { key: 'v' });
  });
  t.is(lines.length, 1);
  t.regex(lines[0]!, /^\S+ WARN namesrv shown key=v\n$/);
});

test('a field that cannot be serialized never breaks the JSON line', (t) => {
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  const record = JSON.parse(jsonLogLine(new Date(0), 'error', 's', 'm', { cyclic })) as Record<string, unknown>;
  t.like(record, { level: 'error', msg: 'm' });
});

// A minimal structured logger. Library code takes a `Logger` in its options so embedders and
// tests can silence or capture it; the default writes one line per event to stderr.

/** Severity levels in increasing order; `silent` disables output. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Extra key/value context printed after the message. */
export type LogFields = Readonly<Record<string, unknown>>;

/** What library code logs through. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

function isLogLevel(value: string | undefined): value is LogLevel {
  return value !== undefined && Object.hasOwn(LEVEL_RANK, value);
}

function formatFields(fields: LogFields | undefined): string {
  if (fields === undefined) return '';
  let text = '';
  for (const [key, value] of Object.entries(fields)) {
    text += ` ${key}=${typeof value === 'string' ? value : safeStringify(value)}`;
  }
  return text;
}

function safeStringify(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * A logger writing `time level scope message k=v` lines to stderr. The level comes from the
 * argument, else the `BOLIDE_LOG_LEVEL` environment variable, else `info`.
 */
export function createLogger(scope: string, level?: LogLevel): Logger {
  const fromEnv = process.env['BOLIDE_LOG_LEVEL'];
  const threshold = LEVEL_RANK[level ?? (isLogLevel(fromEnv) ? fromEnv : 'info')];
  const write = (name: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields): void => {
    if (LEVEL_RANK[name] < threshold) return;
    const line = `${new Date().toISOString()} ${name.toUpperCase()} ${scope} ${message}${formatFields(fields)}\n`;
    process.stderr.write(line);
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}

/** A logger that drops everything (tests that feed garbage on purpose). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

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

/** `pretty`: `time LEVEL scope message k=v`; `json`: one JSON object per line (for log shippers). */
export type LogFormat = 'pretty' | 'json';

function isLogFormat(value: string | undefined): value is LogFormat {
  return value === 'pretty' || value === 'json';
}

/** One JSON line: time, level, scope, msg, then the fields (errors as their message). */
export function jsonLogLine(time: Date, level: string, scope: string, message: string, fields: LogFields | undefined): string {
  const record: Record<string, unknown> = { time: time.toISOString(), level, scope, msg: message };
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (!(key in record)) record[key] = value instanceof Error ? value.message : value;
  }
  try {
    return `${JSON.stringify(record)}\n`;
  } catch {
    return `${JSON.stringify({ time: record['time'], level, scope, msg: message, fields: formatFields(fields).trim() })}\n`;
  }
}

/**
 * A logger writing to stderr. The level comes from the argument, else `BOLIDE_LOG_LEVEL`, else
 * `info`; the format from the argument, else `BOLIDE_LOG_FORMAT`, else pretty on a terminal and
 * JSON lines otherwise (a service manager or container collects them).
 */
export function createLogger(scope: string, level?: LogLevel, format?: LogFormat): Logger {
  const fromEnv = process.env['BOLIDE_LOG_LEVEL'];
  const threshold = LEVEL_RANK[level ?? (isLogLevel(fromEnv) ? fromEnv : 'info')];
  const formatFromEnv = process.env['BOLIDE_LOG_FORMAT'];
  const json = (format ?? (isLogFormat(formatFromEnv) ? formatFromEnv : process.stderr.isTTY ? 'pretty' : 'json')) === 'json';
  const write = (name: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields): void => {
    if (LEVEL_RANK[name] < threshold) return;
    const now = new Date();
    const line = json
      ? jsonLogLine(now, name, scope, message, fields)
      : `${now.toISOString()} ${name.toUpperCase()} ${scope} ${message}${formatFields(fields)}\n`;
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

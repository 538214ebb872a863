// Reads RocketMQ-style `.conf` files (Java properties: `key = value`, `#` / `!` comments) and
// `--key=value` overrides, and checks every key against a schema: keys RocketMQ knows but
// Bolide ignores produce a warning naming them, unknown keys and invalid values an error
// naming the key and the file line.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../common/errors.js';

export { ConfigError };

export type ConfigValueType = 'string' | 'int' | 'long' | 'bool' | 'enum' | 'list';

export interface ConfigKey<T = unknown> {
  type: ConfigValueType;
  default: T;
  /** Allowed values of an enum key. */
  values?: readonly string[];
  min?: number;
  max?: number;
  description: string;
}

export type ConfigSchema = Record<string, ConfigKey>;

/** Where a value came from, for error messages. */
interface Origin {
  source: string;
  line?: number;
}

interface RawEntry {
  key: string;
  value: string;
  origin: Origin;
}

function describe(origin: Origin): string {
  return origin.line === undefined ? origin.source : `${origin.source}:${origin.line}`;
}

/** Parse Java-properties text into raw entries, keeping line numbers. */
export function parseConfText(text: string, source: string): RawEntry[] {
  const entries: RawEntry[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) return;
    const separator = line.search(/[=:]/);
    const origin = { source, line: index + 1 };
    if (separator <= 0) {
      throw new ConfigError(`${describe(origin)}: expected "key = value", got ${JSON.stringify(line)}`);
    }
    entries.push({ key: line.slice(0, separator).trim(), value: line.slice(separator + 1).trim(), origin });
  });
  return entries;
}

/** `--key=value` arguments (also `--key value`) as raw entries; other arguments are returned. */
export function parseOverrides(args: string[]): { entries: RawEntry[]; rest: string[] } {
  const entries: RawEntry[] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const match = /^--([A-Za-z][A-Za-z0-9]*)(?:=(.*))?$/.exec(arg);
    if (!match) {
      rest.push(arg);
      continue;
    }
    let value = match[2];
    if (value === undefined) {
      value = args[i + 1];
      if (value === undefined || value.startsWith('--')) {
        throw new ConfigError(`command line: --${match[1]} needs a value (--${match[1]}=VALUE)`);
      }
      i++;
    }
    entries.push({ key: match[1]!, value, origin: { source: 'command line' } });
  }
  return { entries, rest };
}

function convert(spec: ConfigKey, entry: RawEntry): unknown {
  const { key, value } = entry;
  const where = describe(entry.origin);
  switch (spec.type) {
    case 'string':
      return value;
    case 'int':
    case 'long': {
      if (!/^-?\d+$/.test(value)) throw new ConfigError(`${where}: ${key} must be a whole number, got ${JSON.stringify(value)}`);
      const number = Number(value);
      if (!Number.isSafeInteger(number)) throw new ConfigError(`${where}: ${key} is out of range: ${value}`);
      if (spec.min !== undefined && number < spec.min) throw new ConfigError(`${where}: ${key} must be >= ${spec.min}, got ${value}`);
      if (spec.max !== undefined && number > spec.max) throw new ConfigError(`${where}: ${key} must be <= ${spec.max}, got ${value}`);
      return number;
    }
    case 'bool': {
      const lower = value.toLowerCase();
      if (lower !== 'true' && lower !== 'false') throw new ConfigError(`${where}: ${key} must be true or false, got ${JSON.stringify(value)}`);
      return lower === 'true';
    }
    case 'enum': {
      if (!spec.values?.includes(value)) {
        throw new ConfigError(`${where}: ${key} must be one of ${spec.values?.join(', ')}, got ${JSON.stringify(value)}`);
      }
      return value;
    }
    case 'list':
      return value.split(/[;,]/).map((item) => item.trim()).filter((item) => item !== '');
  }
}

export interface LoadedConfig<T> {
  config: T;
  warnings: string[];
  /** Arguments that were not `--key=value` overrides. */
  rest: string[];
}

/**
 * Build a config: defaults, then the file (if any), then command-line overrides.
 * `ignored` lists RocketMQ keys that are accepted with a warning.
 */
export function loadConfig<T extends object>(
  schema: ConfigSchema,
  ignored: ReadonlySet<string>,
  options: { file?: string; args?: string[] },
): LoadedConfig<T> {
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) values[key] = spec.default;
  const entries: RawEntry[] = [];
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read config file ${options.file}: ${(error as Error).message}`);
    }
    entries.push(...parseConfText(text, options.file));
  }
  const { entries: overrides, rest } = parseOverrides(options.args ?? []);
  entries.push(...overrides);
  const warnings: string[] = [];
  for (const entry of entries) {
    const spec = schema[entry.key];
    if (spec) {
      values[entry.key] = convert(spec, entry);
    } else if (ignored.has(entry.key)) {
      warnings.push(`${describe(entry.origin)}: ${entry.key} is a RocketMQ setting Bolide ignores`);
    } else {
      throw new ConfigError(`${describe(entry.origin)}: unknown config key ${entry.key}`);
    }
  }
  return { config: values as T, warnings, rest };
}

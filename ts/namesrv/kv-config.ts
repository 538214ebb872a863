// KV config of the name server: namespace -> key -> value (e.g. ORDER_TOPIC_CONFIG).
//
// The name server is otherwise stateless (brokers re-register every 30 s and rebuild the
// route table), so this is its only state worth keeping. It lives in memory; when a file path
// is configured every change is written atomically (temp file, fsync, rename) before the
// request is answered, and the file is loaded at start. Format, as the Java name server's
// kvConfig.json: {"configTable":{"namespace":{"key":"value"}}}.

import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BolideError } from '../common/errors.js';
import { asObject, asString, entriesOf } from '../protocol/json-shape.js';
import { parseLenientJson } from '../protocol/lenient-json.js';

/** The KV file exists but cannot be read as a KV table. */
export class KvConfigFileError extends BolideError {
  declare readonly code: 'KV_CONFIG_FILE_INVALID';

  constructor(message: string, options?: { cause?: unknown }) {
    super('KV_CONFIG_FILE_INVALID', message, options);
  }
}

/** In-memory KV config with optional atomic file persistence. */
export class KvConfigStore {
  readonly #table = new Map<string, Map<string, string>>();
  readonly #path: string | undefined;
  /** Saves are chained so concurrent changes are written in order, each with the full table. */
  #saving: Promise<void> = Promise.resolve();

  constructor(path?: string) {
    this.#path = path;
  }

  /** Loads the file, if configured and present. @throws KvConfigFileError */
  async load(): Promise<void> {
    if (this.#path === undefined) return;
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new KvConfigFileError(`cannot read ${this.#path}: ${(error as Error).message}`, { cause: error });
    }
    try {
      const root = asObject(parseLenientJson(text), 'kvConfig');
      const table = root['configTable'] === undefined ? {} : asObject(root['configTable'], 'kvConfig.configTable');
      for (const [namespace, entries] of entriesOf(table)) {
        const path = `kvConfig.configTable.${namespace}`;
        const map = new Map<string, string>();
        for (const [key, value] of entriesOf(asObject(entries, path))) map.set(key, asString(value, `${path}.${key}`));
        this.#table.set(namespace, map);
      }
    } catch (error) {
      const why = (error as Error).message;
      throw new KvConfigFileError(`${this.#path} is not a KV config file: ${why}`, { cause: error });
    }
  }

  get(namespace: string, key: string): string | undefined {
    return this.#table.get(namespace)?.get(key);
  }

  /** All entries of a namespace, or undefined if it has none. */
  list(namespace: string): Record<string, string> | undefined {
    const map = this.#table.get(namespace);
    if (map === undefined || map.size === 0) return undefined;
    return Object.fromEntries(map);
  }

  /** Sets a value; resolves once persisted (if persistence is on). */
  put(namespace: string, key: string, value: string): Promise<void> {
    let map = this.#table.get(namespace);
    if (map === undefined) {
      map = new Map();
      this.#table.set(namespace, map);
    }
    map.set(key, value);
    return this.#save();
  }

  /** Deletes a value (no-op if absent); resolves once persisted. */
  delete(namespace: string, key: string): Promise<void> {
    const map = this.#table.get(namespace);
    if (map === undefined || !map.delete(key)) return Promise.resolve();
    if (map.size === 0) this.#table.delete(namespace);
    return this.#save();
  }

  #save(): Promise<void> {
    const path = this.#path;
    if (path === undefined) return Promise.resolve();
    const configTable: Record<string, Record<string, string>> = {};
    for (const [namespace, map] of this.#table) configTable[namespace] = Object.fromEntries(map);
    const text = JSON.stringify({ configTable });
    const next = this.#saving.catch(() => undefined).then(() => writeAtomically(path, text));
    this.#saving = next;
    return next;
  }
}

/** Writes `text` to a temp file beside `path`, fsyncs it, renames it over `path`, fsyncs the dir. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp`;
  const file = await open(temp, 'w');
  try {
    await file.writeFile(text, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

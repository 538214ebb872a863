// Persistence of the broker's JSON config files (topics.json, subscriptionGroup.json,
// consumerOffset.json) under <storePathRootDir>/config/.
//
// Crash story: a file is replaced atomically: the new content goes to `<file>.tmp`, is
// fsync'd, renamed over `<file>`, and the directory is fsync'd, so after a crash the file is
// either the old or the new version, never a torn mix. The previous version is kept as
// `<file>.bak` (RocketMQ does the same), which load() falls back to if the main file is
// unreadable. Reading accepts RocketMQ's fastjson output (unquoted integer map keys) so a
// broker can take over a RocketMQ store directory.

import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { errorMessage } from '../common/errors.js';
import { parseLenientJson } from '../protocol/lenient-json.js';
import { BrokerError } from './errors.js';

/**
 * Reads and parses `path` (lenient JSON). Returns undefined if neither the file nor its
 * `.bak` exists. @throws BrokerError CONFIG_FILE_INVALID if the content cannot be parsed.
 */
export function readJsonFile(path: string): unknown {
  for (const candidate of [path, `${path}.bak`]) {
    if (!existsSync(candidate)) continue;
    const text = readFileSync(candidate, 'utf8');
    // An empty file is what a crash during RocketMQ's own (non-atomic) write can leave.
    if (text.trim() === '') continue;
    try {
      return parseLenientJson(text);
    } catch (error) {
      if (candidate === path && existsSync(`${path}.bak`)) continue;
      throw new BrokerError('CONFIG_FILE_INVALID', `${candidate}: ${errorMessage(error)}`, { cause: error });
    }
  }
  return undefined;
}

/**
 * Atomically replaces `path` with `value` as JSON (see the module comment).
 * @throws BrokerError CONFIG_FILE_WRITE_FAILED
 */
export function writeJsonFileAtomic(path: string, value: unknown): void {
  const temp = `${path}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(temp, 'w');
    try {
      writeSync(fd, JSON.stringify(value, null, 2));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (existsSync(path)) copyFileSync(path, `${path}.bak`);
    renameSync(temp, path);
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch (error) {
    throw new BrokerError('CONFIG_FILE_WRITE_FAILED', `cannot write ${path}: ${errorMessage(error)}`, { cause: error });
  }
}

// Committed consumer offsets (RocketMQ ConsumerOffsetManager): `topic@group` → queueId →
// next offset to consume. Commits only touch memory (they arrive oneway, thousands per
// second); config/consumerOffset.json is written every flushConsumerOffsetInterval when
// something changed, and at shutdown. A crash loses at most one interval of commits, which
// RocketMQ clients tolerate (at-least-once: they re-consume from the older offset).

import { join } from 'node:path';
import { asInteger, asObject, entriesOf, optionalField } from '../protocol/json-shape.js';
import { dataVersionFromJson, type DataVersion } from '../protocol/namesrv-bodies.js';
import { readJsonFile, writeJsonFileAtomic } from './json-file.js';

const KEY_SEPARATOR = '@';

export class ConsumerOffsetManager {
  readonly #path: string;
  readonly #table = new Map<string, Map<number, number>>();
  #dataVersion: DataVersion = { counter: 0, stateVersion: 0, timestamp: Date.now() };
  #dirty = false;

  constructor(configDir: string) {
    this.#path = join(configDir, 'consumerOffset.json');
  }

  load(): void {
    const root = readJsonFile(this.#path);
    if (root === undefined) return;
    const object = asObject(root, 'consumerOffset.json');
    const table = optionalField(object, 'offsetTable', 'consumerOffset.json', asObject, {});
    for (const [key, queues] of entriesOf(table)) {
      const offsets = new Map<number, number>();
      for (const [queueId, offset] of entriesOf(asObject(queues, `offsetTable.${key}`))) {
        offsets.set(Number(queueId), asInteger(offset, `offsetTable.${key}.${queueId}`));
      }
      this.#table.set(key, offsets);
    }
    this.#dataVersion = optionalField(object, 'dataVersion', 'consumerOffset.json', dataVersionFromJson, this.#dataVersion);
  }

  /** Stores a committed offset (memory only; see the module comment). */
  commit(group: string, topic: string, queueId: number, offset: number): void {
    const key = topic + KEY_SEPARATOR + group;
    let offsets = this.#table.get(key);
    if (offsets === undefined) {
      offsets = new Map();
      this.#table.set(key, offsets);
    }
    if (offsets.get(queueId) === offset) return;
    offsets.set(queueId, offset);
    this.#dirty = true;
  }

  /** The committed offset, or −1 if the group never committed one for this queue. */
  query(group: string, topic: string, queueId: number): number {
    return this.#table.get(topic + KEY_SEPARATOR + group)?.get(queueId) ?? -1;
  }

  /** Topics the group has committed offsets for. */
  topicsOf(group: string): string[] {
    const topics: string[] = [];
    for (const key of this.#table.keys()) {
      const at = key.lastIndexOf(KEY_SEPARATOR);
      if (key.slice(at + 1) === group) topics.push(key.slice(0, at));
    }
    return topics.sort();
  }

  /** Groups that have committed offsets for the topic. */
  groupsOf(topic: string): string[] {
    const groups: string[] = [];
    for (const key of this.#table.keys()) {
      const at = key.lastIndexOf(KEY_SEPARATOR);
      if (key.slice(0, at) === topic) groups.push(key.slice(at + 1));
    }
    return groups.sort();
  }

  /** Every group with a committed offset. */
  groups(): string[] {
    const groups = new Set<string>();
    for (const key of this.#table.keys()) groups.add(key.slice(key.lastIndexOf(KEY_SEPARATOR) + 1));
    return [...groups].sort();
  }

  /** `topic@group` → queueId → offset, a copy (GET_ALL_CONSUMER_OFFSET). */
  snapshot(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [key, offsets] of this.#table) {
      out[key] = Object.fromEntries([...offsets].map(([queueId, offset]) => [String(queueId), offset]));
    }
    return out;
  }

  get dataVersion(): DataVersion {
    return { ...this.#dataVersion };
  }

  /** Forgets a group's offsets (all topics, or one). */
  removeGroup(group: string, topic?: string): void {
    for (const key of [...this.#table.keys()]) {
      const at = key.lastIndexOf(KEY_SEPARATOR);
      if (key.slice(at + 1) !== group || (topic !== undefined && key.slice(0, at) !== topic)) continue;
      this.#table.delete(key);
      this.#dirty = true;
    }
  }

  /** Forgets every group's offsets of a topic. */
  removeTopic(topic: string): void {
    for (const key of [...this.#table.keys()]) {
      if (key.slice(0, key.lastIndexOf(KEY_SEPARATOR)) !== topic) continue;
      this.#table.delete(key);
      this.#dirty = true;
    }
  }

  /** Writes the file if anything changed since the last write; returns whether it wrote. */
  persist(force = false): boolean {
    if (!this.#dirty && !force) return false;
    this.#dirty = false;
    this.#dataVersion = {
      counter: this.#dataVersion.counter + 1, stateVersion: this.#dataVersion.stateVersion, timestamp: Date.now(),
    };
    const offsetTable: Record<string, Record<string, number>> = {};
    for (const [key, offsets] of this.#table) {
      offsetTable[key] = Object.fromEntries([...offsets].map(([queueId, offset]) => [String(queueId), offset]));
    }
    try {
      writeJsonFileAtomic(this.#path, { dataVersion: this.#dataVersion, offsetTable });
    } catch (error) {
      this.#dirty = true;
      throw error;
    }
    return true;
  }
}

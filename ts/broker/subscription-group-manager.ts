// Consumer groups known to the broker (RocketMQ SubscriptionGroupManager), persisted to
// config/subscriptionGroup.json. Groups are created on heartbeat or first pull when
// autoCreateSubscriptionGroup is on; a group's settings (retry queue count, retry limit,
// whether it may consume) are looked up here.

import { join } from 'node:path';
import { asBoolean, asInteger, asObject, entriesOf, optionalField, type JsonObject } from '../protocol/json-shape.js';
import type { DataVersion } from '../protocol/namesrv-bodies.js';
import { dataVersionFromJson } from '../protocol/namesrv-bodies.js';
import { readJsonFile, writeJsonFileAtomic } from './json-file.js';

/** A consumer group's settings; names and defaults are RocketMQ's SubscriptionGroupConfig. */
export interface SubscriptionGroupConfig {
  groupName: string;
  consumeEnable: boolean;
  consumeFromMinEnable: boolean;
  consumeBroadcastEnable: boolean;
  retryQueueNums: number;
  retryMaxTimes: number;
  brokerId: number;
  whichBrokerWhenConsumeSlowly: number;
  notifyConsumerIdsChangedEnable: boolean;
}

export function defaultSubscriptionGroup(groupName: string): SubscriptionGroupConfig {
  return {
    groupName, consumeEnable: true, consumeFromMinEnable: true, consumeBroadcastEnable: true, retryQueueNums: 1,
    retryMaxTimes: 16, brokerId: 0, whichBrokerWhenConsumeSlowly: 1, notifyConsumerIdsChangedEnable: true,
  };
}

function groupFromJson(name: string, value: unknown, path: string): SubscriptionGroupConfig {
  const object = asObject(value, path);
  const base = defaultSubscriptionGroup(name);
  const bool = (key: keyof SubscriptionGroupConfig, fallback: boolean): boolean =>
    optionalField(object, key, path, asBoolean, fallback);
  const int = (key: keyof SubscriptionGroupConfig, fallback: number): number =>
    optionalField(object, key, path, asInteger, fallback);
  return {
    groupName: name,
    consumeEnable: bool('consumeEnable', base.consumeEnable),
    consumeFromMinEnable: bool('consumeFromMinEnable', base.consumeFromMinEnable),
    consumeBroadcastEnable: bool('consumeBroadcastEnable', base.consumeBroadcastEnable),
    retryQueueNums: int('retryQueueNums', base.retryQueueNums),
    retryMaxTimes: int('retryMaxTimes', base.retryMaxTimes),
    brokerId: int('brokerId', base.brokerId),
    whichBrokerWhenConsumeSlowly: int('whichBrokerWhenConsumeSlowly', base.whichBrokerWhenConsumeSlowly),
    notifyConsumerIdsChangedEnable: bool('notifyConsumerIdsChangedEnable', base.notifyConsumerIdsChangedEnable),
  };
}

export class SubscriptionGroupManager {
  readonly #path: string;
  readonly #autoCreate: boolean;
  readonly #table = new Map<string, SubscriptionGroupConfig>();
  #dataVersion: DataVersion = { counter: 0, stateVersion: 0, timestamp: Date.now() };

  constructor(configDir: string, autoCreate: boolean) {
    this.#path = join(configDir, 'subscriptionGroup.json');
    this.#autoCreate = autoCreate;
  }

  load(): void {
    const root = readJsonFile(this.#path);
    if (root === undefined) return;
    const object = asObject(root, 'subscriptionGroup.json');
    const table = optionalField(object, 'subscriptionGroupTable', 'subscriptionGroup.json', asObject, {});
    for (const [name, value] of entriesOf(table)) {
      this.#table.set(name, groupFromJson(name, value, `subscriptionGroupTable.${name}`));
    }
    this.#dataVersion = optionalField(object, 'dataVersion', 'subscriptionGroup.json', dataVersionFromJson, this.#dataVersion);
  }

  get(group: string): SubscriptionGroupConfig | undefined {
    return this.#table.get(group);
  }

  /** The group's config, created (and persisted) if auto-creation is on; else undefined. */
  findOrCreate(group: string): SubscriptionGroupConfig | undefined {
    const existing = this.#table.get(group);
    if (existing !== undefined || !this.#autoCreate) return existing;
    const config = defaultSubscriptionGroup(group);
    this.put(config);
    return config;
  }

  put(config: SubscriptionGroupConfig): void {
    this.#table.set(config.groupName, config);
    this.#dataVersion = {
      counter: this.#dataVersion.counter + 1, stateVersion: this.#dataVersion.stateVersion, timestamp: Date.now(),
    };
    this.persist();
  }

  /** Removes a group; true if it existed. */
  remove(group: string): boolean {
    if (!this.#table.delete(group)) return false;
    this.#dataVersion = {
      counter: this.#dataVersion.counter + 1, stateVersion: this.#dataVersion.stateVersion, timestamp: Date.now(),
    };
    this.persist();
    return true;
  }

  /** Copies of every group's config (GET_ALL_SUBSCRIPTIONGROUP_CONFIG). */
  snapshot(): SubscriptionGroupConfig[] {
    return [...this.#table.values()].map((config) => ({ ...config }));
  }

  get dataVersion(): DataVersion {
    return { ...this.#dataVersion };
  }

  groups(): string[] {
    return [...this.#table.keys()];
  }

  persist(): void {
    const subscriptionGroupTable: JsonObject = {};
    for (const [name, config] of this.#table) subscriptionGroupTable[name] = { ...config };
    writeJsonFileAtomic(this.#path, { dataVersion: this.#dataVersion, subscriptionGroupTable });
  }
}

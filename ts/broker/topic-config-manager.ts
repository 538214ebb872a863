// The broker's topic table (RocketMQ TopicConfigManager): the system topics RocketMQ creates,
// topics created by admins (UPDATE_AND_CREATE_TOPIC) or on first send (auto-create from
// TBW102), retry topics created on heartbeat. Persisted to config/topics.json on every change;
// every change bumps the DataVersion and notifies listeners (the controller re-registers with
// the name servers at once, so clients see new routes without waiting 30 s).

import { join } from 'node:path';
import type { Logger } from '../common/logger.js';
import { Perm } from '../protocol/codes.js';
import { asObject, entriesOf, optionalField } from '../protocol/json-shape.js';
import {
  dataVersionFromJson, topicConfigFromJson, topicConfigToJson, type DataVersion, type TopicConfig,
} from '../protocol/namesrv-bodies.js';
import { readJsonFile, writeJsonFileAtomic } from './json-file.js';

/** RocketMQ's reserved topic names. */
export const SystemTopic = {
  AUTO_CREATE: 'TBW102',
  SELF_TEST: 'SELF_TEST_TOPIC',
  OFFSET_MOVED_EVENT: 'OFFSET_MOVED_EVENT',
  SCHEDULE: 'SCHEDULE_TOPIC_XXXX',
  TRANS_HALF: 'RMQ_SYS_TRANS_HALF_TOPIC',
  TRANS_OP_HALF: 'RMQ_SYS_TRANS_OP_HALF_TOPIC',
  TRANS_CHECK_MAX_TIME: 'TRANS_CHECK_MAX_TIME_TOPIC',
  /** RocketMQ 5's timer topic: messages with an arbitrary delivery time wait here. */
  TIMER: 'rmq_sys_wheel_timer',
} as const;

export const RETRY_GROUP_TOPIC_PREFIX = '%RETRY%';
export const DLQ_GROUP_TOPIC_PREFIX = '%DLQ%';

/** Topics producers may not send to directly (they are fed by the broker itself). */
export const NOT_ALLOWED_SEND_TOPICS: ReadonlySet<string> = new Set([
  SystemTopic.SCHEDULE, SystemTopic.TRANS_HALF, SystemTopic.TRANS_OP_HALF, SystemTopic.TRANS_CHECK_MAX_TIME, SystemTopic.TIMER,
]);

const TOPIC_PATTERN = /^[%|a-zA-Z0-9_-]+$/;
/** Longest ordinary topic name (RocketMQ 5.x: 127, the V1 record's 1-byte topic length). */
export const TOPIC_LENGTH_MAX = 127;
/** Retry and DLQ topics may be longer: they embed a group name. */
export const SYSTEM_TOPIC_LENGTH_MAX = 255;

/** Why a topic name is refused, or null if it is valid. */
export function topicNameProblem(topic: string): string | null {
  if (topic.length === 0) return 'The specified topic is blank.';
  if (!TOPIC_PATTERN.test(topic)) {
    return `The specified topic[${topic}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$`;
  }
  const isGroupTopic = topic.startsWith(RETRY_GROUP_TOPIC_PREFIX) || topic.startsWith(DLQ_GROUP_TOPIC_PREFIX);
  const max = isGroupTopic ? SYSTEM_TOPIC_LENGTH_MAX : TOPIC_LENGTH_MAX;
  if (topic.length > max) return `The specified topic is longer than topic max length ${max}.`;
  return null;
}

export function newTopicConfig(name: string, queues: number, perm: number = Perm.READ | Perm.WRITE): TopicConfig {
  return {
    topicName: name, readQueueNums: queues, writeQueueNums: queues, perm, topicFilterType: 'SINGLE_TAG',
    topicSysFlag: 0, order: false, attributes: {},
  };
}

export interface TopicConfigManagerOptions {
  configDir: string;
  brokerName: string;
  brokerClusterName: string;
  autoCreateTopicEnable: boolean;
  defaultTopicQueueNums: number;
  logger: Logger;
}

/** The topic table. */
export class TopicConfigManager {
  readonly #path: string;
  readonly #options: TopicConfigManagerOptions;
  readonly #table = new Map<string, TopicConfig>();
  readonly #listeners = new Set<(changed: TopicConfig) => void>();
  #dataVersion: DataVersion = { counter: 0, stateVersion: 0, timestamp: Date.now() };

  constructor(options: TopicConfigManagerOptions) {
    this.#options = options;
    this.#path = join(options.configDir, 'topics.json');
  }

  /** Loads topics.json (if any), then makes sure the system topics exist. */
  load(): void {
    const root = readJsonFile(this.#path);
    if (root !== undefined) {
      const object = asObject(root, 'topics.json');
      const table = optionalField(object, 'topicConfigTable', 'topics.json', asObject, {});
      for (const [name, value] of entriesOf(table)) {
        this.#table.set(name, topicConfigFromJson(name, value, `topics.json.topicConfigTable.${name}`));
      }
      this.#dataVersion = optionalField(object, 'dataVersion', 'topics.json', dataVersionFromJson, this.#dataVersion);
    }
    this.#addSystemTopics();
  }

  #addSystemTopics(): void {
    const { brokerName, brokerClusterName, autoCreateTopicEnable, defaultTopicQueueNums } = this.#options;
    const rw = Perm.READ | Perm.WRITE;
    const systemTopics = [
      newTopicConfig(SystemTopic.SELF_TEST, 1),
      // Only the template's existence matters to clients: they fall back to its route for
      // unknown topics. INHERIT marks it as a template (stripped from the topics it makes).
      ...(autoCreateTopicEnable ? [newTopicConfig(SystemTopic.AUTO_CREATE, defaultTopicQueueNums, rw | Perm.INHERIT)] : []),
      newTopicConfig(brokerClusterName, 16, rw | Perm.INHERIT),
      newTopicConfig(brokerName, 1, rw | Perm.INHERIT),
      newTopicConfig(SystemTopic.OFFSET_MOVED_EVENT, 1),
      newTopicConfig(SystemTopic.SCHEDULE, 18),
      newTopicConfig(SystemTopic.TIMER, 1),
    ];
    for (const config of systemTopics) {
      if (!this.#table.has(config.topicName)) this.#table.set(config.topicName, config);
    }
    if (!autoCreateTopicEnable) this.#table.delete(SystemTopic.AUTO_CREATE);
  }

  /** Called after every change (already persisted). */
  onChange(listener: (changed: TopicConfig) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get(topic: string): TopicConfig | undefined {
    return this.#table.get(topic);
  }

  get dataVersion(): DataVersion {
    return { ...this.#dataVersion };
  }

  /** A snapshot of the table, for registration and GET_ALL_TOPIC_CONFIG. */
  snapshot(): Record<string, TopicConfig> {
    const out: Record<string, TopicConfig> = {};
    for (const [name, config] of this.#table) out[name] = { ...config, attributes: { ...config.attributes } };
    return out;
  }

  /** Creates or replaces a topic, persists, notifies. */
  put(config: TopicConfig): void {
    this.#table.set(config.topicName, config);
    this.#dataVersion = {
      counter: this.#dataVersion.counter + 1, stateVersion: this.#dataVersion.stateVersion, timestamp: Date.now(),
    };
    this.persist();
    this.#options.logger.info('topic config updated', {
      topic: config.topicName, readQueueNums: config.readQueueNums, writeQueueNums: config.writeQueueNums,
      perm: config.perm,
    });
    for (const listener of this.#listeners) listener(config);
  }

  /** Removes a topic, persists, notifies (with the removed config); false if it did not exist. */
  remove(topic: string): boolean {
    const config = this.#table.get(topic);
    if (config === undefined) return false;
    this.#table.delete(topic);
    this.#dataVersion = {
      counter: this.#dataVersion.counter + 1, stateVersion: this.#dataVersion.stateVersion, timestamp: Date.now(),
    };
    this.persist();
    this.#options.logger.info('topic deleted', { topic });
    for (const listener of this.#listeners) listener(config);
    return true;
  }

  /**
   * The topic to store a send under, auto-creating it from the template `defaultTopic` when
   * allowed. Returns undefined when the topic does not exist and cannot be created.
   */
  createInSendMessage(topic: string, defaultTopic: string, clientQueueNums: number): TopicConfig | undefined {
    const existing = this.#table.get(topic);
    if (existing !== undefined) return existing;
    if (!this.#options.autoCreateTopicEnable) return undefined;
    const template = this.#table.get(defaultTopic);
    if (template === undefined || (template.perm & Perm.INHERIT) === 0) return undefined;
    const queues = Math.max(1, Math.min(clientQueueNums, template.writeQueueNums));
    const config = newTopicConfig(topic, queues, template.perm & ~Perm.INHERIT);
    this.put(config);
    return config;
  }

  /** The retry topic of a group (1 queue, read + write), created on first use. */
  createRetryTopic(group: string, queues = 1): TopicConfig {
    const topic = RETRY_GROUP_TOPIC_PREFIX + group;
    const existing = this.#table.get(topic);
    if (existing !== undefined) return existing;
    const config = newTopicConfig(topic, queues);
    this.put(config);
    return config;
  }

  /** The dead-letter topic of a group (1 queue, read + write as in RocketMQ 5), created on first use. */
  createDeadLetterTopic(group: string): TopicConfig {
    const topic = DLQ_GROUP_TOPIC_PREFIX + group;
    const existing = this.#table.get(topic);
    if (existing !== undefined) return existing;
    const config = newTopicConfig(topic, 1);
    this.put(config);
    return config;
  }

  persist(): void {
    const topicConfigTable: Record<string, unknown> = {};
    for (const [name, config] of this.#table) topicConfigTable[name] = topicConfigToJson(config);
    writeJsonFileAtomic(this.#path, { dataVersion: this.#dataVersion, topicConfigTable });
  }
}

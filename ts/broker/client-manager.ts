// Producer and consumer channels per group (RocketMQ ProducerManager + ConsumerManager).
//
// A channel is one client connection (a client id can reconnect on a new connection). It is
// registered by HEART_BEAT, refreshed by every heartbeat, and removed by UNREGISTER_CLIENT, by
// the connection closing, or after channelExpiredTimeout without a heartbeat. Whenever the set
// of consumer channels of a group changes (or its subscribed topics do), every remaining
// consumer of the group gets NOTIFY_CONSUMER_IDS_CHANGED so it rebalances at once instead of
// at its next 20 s rebalance tick.

import type { Logger } from '../common/logger.js';
import { makeRequest } from '../protocol/command.js';
import { RequestCode } from '../protocol/codes.js';
import type { ConsumerData, SubscriptionData } from '../protocol/broker-bodies.js';
import type { RemotingConnection } from '../remoting/connection.js';

/** One client connection of a group. */
export interface ClientChannel {
  clientId: string;
  connection: RemotingConnection;
  language: string;
  version: number;
  lastUpdateMs: number;
}

/** A consumer group's live state. */
export interface ConsumerGroupInfo {
  groupName: string;
  consumeType: string;
  messageModel: string;
  consumeFromWhere: string;
  /** By connection id. */
  channels: Map<number, ClientChannel>;
  /** By topic. */
  subscriptions: Map<string, SubscriptionData>;
}

export interface ClientManagerOptions {
  channelExpiredTimeoutMs: number;
  logger: Logger;
  /** Whether a group wants NOTIFY_CONSUMER_IDS_CHANGED (subscription group setting). */
  notifyEnabled: (group: string) => boolean;
}

export class ClientManager {
  readonly #options: ClientManagerOptions;
  readonly #popGroups = new Map<string, number>();
  readonly #producers = new Map<string, Map<number, ClientChannel>>();
  readonly #consumers = new Map<string, ConsumerGroupInfo>();
  readonly #pendingNotify = new Set<string>();

  constructor(options: ClientManagerOptions) {
    this.#options = options;
  }

  registerProducer(group: string, channel: ClientChannel): void {
    let channels = this.#producers.get(group);
    if (channels === undefined) {
      channels = new Map();
      this.#producers.set(group, channels);
    }
    channels.set(channel.connection.id, channel);
  }

  /**
   * Registers or refreshes a consumer channel and (unless `keepSubscriptions`, heartbeat V2
   * without subscriptions) replaces the group's subscriptions. Notifies the group on change.
   */
  /**
   * Marks `group` as consumed through the HTTP gateway's POP fetch until `untilMs`: remoting
   * consumers may not join it meanwhile (one group, one consumption model).
   */
  markPopGroup(group: string, untilMs: number): void {
    this.#popGroups.set(group, Math.max(untilMs, this.#popGroups.get(group) ?? 0));
  }

  /** True while `group` is a POP group (see markPopGroup). */
  isPopGroup(group: string, nowMs = Date.now()): boolean {
    const until = this.#popGroups.get(group);
    if (until === undefined) return false;
    if (until > nowMs) return true;
    this.#popGroups.delete(group);
    return false;
  }

  registerConsumer(data: ConsumerData, channel: ClientChannel, keepSubscriptions: boolean): void {
    let info = this.#consumers.get(data.groupName);
    if (info === undefined) {
      info = {
        groupName: data.groupName, consumeType: data.consumeType, messageModel: data.messageModel,
        consumeFromWhere: data.consumeFromWhere, channels: new Map(), subscriptions: new Map(),
      };
      this.#consumers.set(data.groupName, info);
    }
    info.consumeType = data.consumeType;
    info.messageModel = data.messageModel;
    info.consumeFromWhere = data.consumeFromWhere;
    const previous = info.channels.get(channel.connection.id);
    const channelsChanged = previous === undefined || previous.clientId !== channel.clientId;
    info.channels.set(channel.connection.id, channel);
    const topicsChanged = keepSubscriptions ? false : this.#updateSubscriptions(info, data.subscriptionDataSet);
    if (channelsChanged) {
      this.#options.logger.info('consumer channel registered', {
        group: data.groupName, clientId: channel.clientId, remote: channel.connection.remoteAddress,
      });
    }
    if (channelsChanged || topicsChanged) this.#notify(info);
  }

  /** Replaces the subscriptions; true if the set of topics changed. */
  #updateSubscriptions(info: ConsumerGroupInfo, subscriptions: readonly SubscriptionData[]): boolean {
    let changed = false;
    const topics = new Set<string>();
    for (const subscription of subscriptions) {
      topics.add(subscription.topic);
      const old = info.subscriptions.get(subscription.topic);
      if (old === undefined) changed = true;
      // An older heartbeat arriving late must not roll a subscription back.
      if (old === undefined || old.subVersion <= subscription.subVersion) info.subscriptions.set(subscription.topic, subscription);
    }
    for (const topic of [...info.subscriptions.keys()]) {
      if (!topics.has(topic)) {
        info.subscriptions.delete(topic);
        changed = true;
      }
    }
    return changed;
  }

  /** UNREGISTER_CLIENT: removes the channel from the named groups. */
  unregister(connection: RemotingConnection, producerGroup?: string, consumerGroup?: string): void {
    if (producerGroup !== undefined) this.#producers.get(producerGroup)?.delete(connection.id);
    if (consumerGroup !== undefined) {
      const info = this.#consumers.get(consumerGroup);
      if (info !== undefined) this.#removeConsumerChannel(info, connection.id, 'unregistered');
    }
  }

  /** The connection closed: drop it from every group at once. */
  connectionClosed(connection: RemotingConnection): void {
    for (const [group, channels] of this.#producers) {
      channels.delete(connection.id);
      if (channels.size === 0) this.#producers.delete(group);
    }
    for (const info of [...this.#consumers.values()]) this.#removeConsumerChannel(info, connection.id, 'connection closed');
  }

  /** Drops channels silent for longer than channelExpiredTimeout (and closes them). */
  scanExpired(nowMs: number): void {
    const limit = this.#options.channelExpiredTimeoutMs;
    for (const channels of this.#producers.values()) {
      for (const [id, channel] of channels) {
        if (nowMs - channel.lastUpdateMs > limit) {
          channels.delete(id);
          channel.connection.close('idle');
        }
      }
    }
    for (const info of [...this.#consumers.values()]) {
      for (const [id, channel] of [...info.channels]) {
        if (nowMs - channel.lastUpdateMs <= limit) continue;
        this.#removeConsumerChannel(info, id, 'expired');
        channel.connection.close('idle');
      }
    }
  }

  #removeConsumerChannel(info: ConsumerGroupInfo, connectionId: number, why: string): void {
    const channel = info.channels.get(connectionId);
    if (channel === undefined) return;
    info.channels.delete(connectionId);
    this.#options.logger.info('consumer channel removed', { group: info.groupName, clientId: channel.clientId, why });
    if (info.channels.size === 0) {
      this.#consumers.delete(info.groupName);
      return;
    }
    this.#notify(info);
  }

  /**
   * Schedules NOTIFY_CONSUMER_IDS_CHANGED for the group. It is sent after the current request
   * is answered (next turn of the event loop), coalescing changes of the same turn: a Java
   * client that gets the notification while its own heartbeat is still in flight rebalances
   * at once, finds its heartbeat lock taken, skips the heartbeat carrying its new
   * subscription version, and its pulls then fail SUBSCRIPTION_NOT_LATEST until its next
   * periodic heartbeat, 30 s later.
   */
  #notify(info: ConsumerGroupInfo): void {
    if (!this.#options.notifyEnabled(info.groupName) || this.#pendingNotify.has(info.groupName)) return;
    this.#pendingNotify.add(info.groupName);
    setImmediate(() => {
      this.#pendingNotify.delete(info.groupName);
      const current = this.#consumers.get(info.groupName);
      if (current !== undefined) this.#sendNotify(current);
    });
  }

  #sendNotify(info: ConsumerGroupInfo): void {
    for (const channel of info.channels.values()) {
      const request = makeRequest(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, { extFields: { consumerGroup: info.groupName } });
      try {
        channel.connection.invokeOneway(request);
      } catch (error) {
        this.#options.logger.warn('NOTIFY_CONSUMER_IDS_CHANGED failed', { group: info.groupName, error });
      }
    }
  }

  /** Names of the consumer groups with at least one live channel. */
  consumerGroupNames(): string[] {
    return [...this.#consumers.keys()].sort();
  }

  consumerGroup(group: string): ConsumerGroupInfo | undefined {
    return this.#consumers.get(group);
  }

  /** Client ids of a consumer group, sorted (clients sort anyway; stable output helps tests). */
  consumerIds(group: string): string[] {
    const info = this.#consumers.get(group);
    if (info === undefined) return [];
    return [...new Set([...info.channels.values()].map((channel) => channel.clientId))].sort();
  }

  /**
   * A live channel of a producer group, picked at random so checks spread over the group
   * (RocketMQ ProducerManager.getAvailableChannel); undefined when the group has none.
   */
  producerChannel(group: string): ClientChannel | undefined {
    const live = [...(this.#producers.get(group)?.values() ?? [])].filter((channel) => !channel.connection.closed);
    return live[Math.floor(Math.random() * live.length)];
  }

  producerGroups(): string[] {
    return [...this.#producers.keys()];
  }
}

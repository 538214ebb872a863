// The shared machinery of every SDK client (producer, consumers, admin): one RemotingClient,
// name-server failover, the topic route cache, broker heartbeats and background timers.
// Java calls this MQClientInstance; here each client owns one, so shutting a client down
// releases every socket and timer it created.

import { networkInterfaces } from 'node:os';
import { createLogger, type Logger } from '../common/logger.js';
import {
  RequestCode, ResponseCode, decodeTopicRouteData, makeRequest, makeResponse, Perm,
  type BrokerData, type RemotingCommand, type TopicRouteData,
} from '../protocol/index.js';
import { RemotingClient } from '../remoting/index.js';
import { ClientStateError, MQBrokerError, MQClientError, NetworkError, NoRouteError, toMQError } from './errors.js';
import { looseEntries, parseLooseJson } from './loose-json.js';
import type { MessageQueue } from './message.js';
import { Scheduler } from './scheduler.js';
import type { Transport } from './transport.js';
import { subscriptionJson, type SubscriptionData } from './subscription.js';

/** Connection and timing options shared by every client. */
export interface ClientOptions {
  /**
   * Name server address(es): "host:port", a ";"-separated list, or an array. Default: the
   * NAMESRV_ADDR environment variable.
   */
  namesrvAddr?: string | string[];
  /** Distinguishes clients in one process; default `<pid>#<hrtime>`. */
  instanceName?: string;
  /** Timeout of control requests (routes, offsets, heartbeats). Default 3000 ms. */
  requestTimeoutMs?: number;
  /** Route refresh period for every topic in use. Default 30 000 ms. */
  pollNameServerIntervalMs?: number;
  /** Heartbeat period to every broker. Default 30 000 ms. */
  heartbeatBrokerIntervalMs?: number;
  /** Where the client logs; default a stderr logger at BOLIDE_LOG_LEVEL (info). */
  logger?: Logger;
  /** Replaces the TCP transport (tests, embedding). Default: a RemotingClient. */
  transport?: (logger: Logger, requestTimeoutMs: number) => Transport;
}

/** Consumer data in heartbeats, supplied by a consumer while it runs. */
export interface ConsumerRegistration {
  groupName: string;
  consumeType: 'CONSUME_PASSIVELY' | 'CONSUME_ACTIVELY';
  messageModel: 'CLUSTERING' | 'BROADCASTING';
  consumeFromWhere: string;
  subscriptions(): SubscriptionData[];
  /** Called when a broker says the group's members changed. */
  onConsumerIdsChanged?(): void;
  /** Called when a broker relays an admin's offset reset (RESET_CONSUMER_CLIENT_OFFSET). */
  onResetOffset?(topic: string, offsets: Array<{ queue: MessageQueue; offset: number }>): void;
}

/** Decodes a ResetOffsetBody (`{"offsetTable":{{MessageQueue}:offset}}`, fastjson object keys). */
export function decodeResetOffsetBody(body: Buffer | undefined): Array<{ queue: MessageQueue; offset: number }> {
  if (body === undefined || body.length === 0) return [];
  const root = parseLooseJson(body.toString('utf8')) as Record<string, unknown>;
  return looseEntries(root['offsetTable']).map(([key, value]) => {
    const queue = (key ?? {}) as Record<string, unknown>;
    return {
      queue: {
        topic: String(queue['topic']), brokerName: String(queue['brokerName']), queueId: Number(queue['queueId']),
      },
      offset: Number(value),
    };
  });
}

/** The first non-internal IPv4 address of this host (else IPv6, else 127.0.0.1). */
export function localIp(): string {
  let v6: string | undefined;
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) {
      if (entry.internal) continue;
      if (entry.family === 'IPv4') return entry.address;
      if (v6 === undefined && !entry.address.startsWith('fe80')) v6 = entry.address;
    }
  }
  return v6 ?? '127.0.0.1';
}

function namesrvList(value: string | string[] | undefined): string[] {
  // Like Java's client, fall back to the NAMESRV_ADDR environment variable.
  const given = value ?? process.env['NAMESRV_ADDR'] ?? '';
  const list = (Array.isArray(given) ? given : given.split(';')).map((item) => item.trim()).filter((item) => item);
  if (list.length === 0) throw new MQClientError('namesrvAddr is empty (and NAMESRV_ADDR is not set)');
  return list;
}

/** The machinery behind one client. Internal: not part of the public API. */
export class ClientCore {
  readonly logger: Logger;
  readonly clientId: string;
  readonly ip: string;
  readonly remoting: Transport;
  readonly scheduler: Scheduler;
  readonly requestTimeoutMs: number;
  readonly #namesrvs: string[];
  #namesrvIndex = 0;
  readonly #routes = new Map<string, TopicRouteData>();
  /** brokerName → brokerId → address, merged from every route seen. */
  readonly #brokers = new Map<string, Record<string, string>>();
  readonly #producerGroups = new Set<string>();
  readonly #consumers = new Map<string, ConsumerRegistration>();
  /** Topics whose routes are refreshed periodically. */
  readonly #topicSources = new Set<() => Iterable<string>>();
  readonly #pollIntervalMs: number;
  readonly #heartbeatIntervalMs: number;
  #state: 'created' | 'running' | 'stopped' = 'created';

  constructor(options: ClientOptions, scope: string) {
    this.logger = options.logger ?? createLogger(scope);
    this.#namesrvs = namesrvList(options.namesrvAddr);
    this.ip = localIp();
    const instance = options.instanceName ?? `${process.pid}#${process.hrtime.bigint()}`;
    this.clientId = `${this.ip}@${instance}`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 3000;
    this.#pollIntervalMs = options.pollNameServerIntervalMs ?? 30_000;
    this.#heartbeatIntervalMs = options.heartbeatBrokerIntervalMs ?? 30_000;
    this.remoting = options.transport?.(this.logger, this.requestTimeoutMs)
      ?? new RemotingClient({ logger: this.logger, requestTimeoutMs: this.requestTimeoutMs });
    this.scheduler = new Scheduler(this.logger);
    this.remoting.registerProcessor(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, (request) => {
      const group = request.extFields['consumerGroup'];
      const consumer = group === undefined ? undefined : this.#consumers.get(group);
      this.logger.debug('consumer ids changed', { group });
      consumer?.onConsumerIdsChanged?.();
      return undefined;
    });
    this.remoting.registerProcessor(RequestCode.RESET_CONSUMER_CLIENT_OFFSET, (request) => {
      const group = request.extFields['group'];
      const topic = request.extFields['topic'];
      const consumer = group === undefined ? undefined : this.#consumers.get(group);
      this.logger.debug('reset offset request', { group, topic, known: consumer !== undefined });
      if (consumer?.onResetOffset !== undefined && topic !== undefined) {
        try {
          consumer.onResetOffset(topic, decodeResetOffsetBody(request.body));
        } catch (error) {
          this.logger.warn('bad reset-offset request', { group, error: String(error) });
        }
      }
      return makeResponse(request, ResponseCode.SUCCESS);
    });
  }

  get running(): boolean {
    return this.#state === 'running';
  }

  /** Starts route polling and heartbeats. */
  start(): void {
    if (this.#state !== 'created') throw new ClientStateError(`client cannot start: it is ${this.#state}`);
    this.#state = 'running';
    this.scheduler.every('route refresh', this.#pollIntervalMs, this.#pollIntervalMs, () => this.refreshRoutes());
    this.scheduler.every('heartbeat', this.#heartbeatIntervalMs, this.#heartbeatIntervalMs, () => this.heartbeatAll());
  }

  /** Unregisters from brokers, stops timers, closes every connection. Idempotent. */
  async shutdown(): Promise<void> {
    if (this.#state === 'stopped') return;
    const wasRunning = this.#state === 'running';
    this.#state = 'stopped';
    this.scheduler.stop();
    if (wasRunning) await this.#unregisterAll();
    await this.remoting.close();
  }

  /** Throws unless the client is running. */
  assertRunning(): void {
    if (this.#state !== 'running') {
      throw new ClientStateError(`client is ${this.#state === 'created' ? 'not started' : 'shut down'}`);
    }
  }

  addProducerGroup(group: string): void {
    this.#producerGroups.add(group);
  }

  registerConsumer(registration: ConsumerRegistration): void {
    if (this.#consumers.has(registration.groupName)) {
      throw new MQClientError(`consumer group ${registration.groupName} is already registered on this client`);
    }
    this.#consumers.set(registration.groupName, registration);
  }

  /** Adds a source of topics whose routes the client keeps fresh. */
  addTopicSource(source: () => Iterable<string>): void {
    this.#topicSources.add(source);
  }

  // ---------------------------------------------------------------------------- invoking

  /** Sends a request to a broker; transport failures become SDK errors. */
  async invoke(address: string, request: RemotingCommand, timeoutMs = this.requestTimeoutMs): Promise<RemotingCommand> {
    try {
      return await this.remoting.invoke(address, request, timeoutMs);
    } catch (error) {
      throw toMQError(error, address);
    }
  }

  /** Like invoke, but a non-SUCCESS response is thrown as MQBrokerError. */
  async invokeOk(
    address: string, request: RemotingCommand, timeoutMs = this.requestTimeoutMs,
  ): Promise<RemotingCommand> {
    const response = await this.invoke(address, request, timeoutMs);
    if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark, address);
    return response;
  }

  /** Sends a oneway request to a broker. */
  async invokeOneway(address: string, request: RemotingCommand): Promise<void> {
    try {
      await this.remoting.invokeOneway(address, request);
    } catch (error) {
      throw toMQError(error, address);
    }
  }

  /**
   * Sends a request to a name server, starting with the last one that answered and moving on
   * to the next on a network failure or timeout (not on an error response).
   */
  async invokeNamesrv(request: RemotingCommand, timeoutMs = this.requestTimeoutMs): Promise<RemotingCommand> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.#namesrvs.length; attempt += 1) {
      const index = (this.#namesrvIndex + attempt) % this.#namesrvs.length;
      const address = this.#namesrvs[index]!;
      try {
        const response = await this.invoke(address, request, timeoutMs);
        this.#namesrvIndex = index;
        return response;
      } catch (error) {
        lastError = error;
        if (error instanceof ClientStateError) throw error;
        this.logger.debug('name server failed, trying the next', { address, error: String(error) });
      }
    }
    throw lastError instanceof Error ? lastError : new NetworkError('no name server answered', undefined);
  }

  // ---------------------------------------------------------------------------- routes

  /** Asks the name servers for a topic's route; undefined when the topic does not exist. */
  async fetchRoute(topic: string): Promise<TopicRouteData | undefined> {
    const request = makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { extFields: { topic } });
    const response = await this.invokeNamesrv(request);
    if (response.code === ResponseCode.TOPIC_NOT_EXIST) return undefined;
    if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark, 'name server');
    if (response.body === undefined) throw new NoRouteError(topic, `name server sent an empty route for ${topic}`);
    return decodeTopicRouteData(response.body);
  }

  /** Fetches and caches a topic's route; undefined (cache untouched) if the topic is unknown. */
  async updateRoute(topic: string): Promise<TopicRouteData | undefined> {
    const route = await this.fetchRoute(topic);
    if (route !== undefined) this.setRoute(topic, route);
    return route;
  }

  /** Caches a route (also one derived from TBW102) and remembers its brokers. */
  setRoute(topic: string, route: TopicRouteData): void {
    this.#routes.set(topic, route);
    for (const broker of route.brokerDatas) this.#rememberBroker(broker);
  }

  routeOf(topic: string): TopicRouteData | undefined {
    return this.#routes.get(topic);
  }

  /** The cached route, fetching it if there is none. @throws NoRouteError */
  async routeOrFetch(topic: string): Promise<TopicRouteData> {
    const route = this.#routes.get(topic) ?? (await this.updateRoute(topic));
    if (route === undefined) {
      throw new NoRouteError(topic, `no route for topic ${topic} (name server: TOPIC_NOT_EXIST)`);
    }
    return route;
  }

  /** Refreshes the routes of every topic in use; failures are logged per topic. */
  async refreshRoutes(): Promise<void> {
    const topics = new Set<string>();
    for (const source of this.#topicSources) for (const topic of source()) topics.add(topic);
    for (const topic of topics) {
      try {
        await this.updateRoute(topic);
      } catch (error) {
        this.logger.debug('route refresh failed', { topic, error: String(error) });
      }
    }
  }

  #rememberBroker(broker: BrokerData): void {
    const before = this.#brokers.get(broker.brokerName)?.['0'];
    this.#brokers.set(broker.brokerName, { ...broker.brokerAddrs });
    const master = broker.brokerAddrs['0'];
    // A broker seen for the first time hears about our groups now, not 30 s later.
    if (master !== undefined && master !== before && this.running) void this.#heartbeatOne(broker.brokerName, master);
  }

  async #heartbeatOne(name: string, address: string): Promise<boolean> {
    if (this.#producerGroups.size === 0 && this.#consumers.size === 0) return false;
    try {
      await this.invokeOk(address, makeRequest(RequestCode.HEART_BEAT, { body: this.heartbeatBody() }));
      return true;
    } catch (error) {
      this.logger.warn('heartbeat failed', { broker: name, address, error: String(error) });
      return false;
    }
  }

  /** Address of a broker group's master, if known. */
  masterAddress(brokerName: string): string | undefined {
    return this.#brokers.get(brokerName)?.['0'];
  }

  /** Every known master address. */
  masterAddresses(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [name, addrs] of this.#brokers) if (addrs['0'] !== undefined) out.set(name, addrs['0']);
    return out;
  }

  /** Queues a producer may write to (WRITE perm, master present), sorted. */
  static publishQueues(topic: string, route: TopicRouteData): MessageQueue[] {
    const out: MessageQueue[] = [];
    const withMaster = new Set(
      route.brokerDatas.filter((b) => b.brokerAddrs['0'] !== undefined).map((b) => b.brokerName),
    );
    const byName = (a: { brokerName: string }, b: { brokerName: string }): number =>
      (a.brokerName < b.brokerName ? -1 : a.brokerName > b.brokerName ? 1 : 0);
    const datas = [...route.queueDatas].sort(byName);
    for (const data of datas) {
      if ((data.perm & Perm.WRITE) === 0 || !withMaster.has(data.brokerName)) continue;
      for (let queueId = 0; queueId < data.writeQueueNums; queueId += 1) {
        out.push({ topic, brokerName: data.brokerName, queueId });
      }
    }
    return out;
  }

  /** Queues a consumer may read (READ perm). */
  static subscribeQueues(topic: string, route: TopicRouteData): MessageQueue[] {
    const out: MessageQueue[] = [];
    for (const data of route.queueDatas) {
      if ((data.perm & Perm.READ) === 0) continue;
      for (let queueId = 0; queueId < data.readQueueNums; queueId += 1) {
        out.push({ topic, brokerName: data.brokerName, queueId });
      }
    }
    return out;
  }

  // ---------------------------------------------------------------------------- heartbeats

  /** The HEART_BEAT body describing this client's groups. */
  heartbeatBody(): Buffer {
    const consumerDataSet = [...this.#consumers.values()].map((consumer) => ({
      consumeFromWhere: consumer.consumeFromWhere,
      consumeType: consumer.consumeType,
      groupName: consumer.groupName,
      messageModel: consumer.messageModel,
      subscriptionDataSet: consumer.subscriptions().map(subscriptionJson),
      unitMode: false,
    }));
    const producerDataSet = [...this.#producerGroups].map((groupName) => ({ groupName }));
    return Buffer.from(JSON.stringify({ clientID: this.clientId, consumerDataSet, producerDataSet }), 'utf8');
  }

  /** Sends a heartbeat to every known master; returns how many answered. */
  async heartbeatAll(): Promise<number> {
    const results = await Promise.all([...this.masterAddresses()].map(([name, address]) =>
      this.#heartbeatOne(name, address)));
    return results.filter((ok) => ok).length;
  }

  /** Sends UNREGISTER_CLIENT for every group to every known master. */
  async #unregisterAll(): Promise<void> {
    const requests: Array<Record<string, string>> = [];
    for (const group of this.#producerGroups) requests.push({ clientID: this.clientId, producerGroup: group });
    for (const group of this.#consumers.keys()) requests.push({ clientID: this.clientId, consumerGroup: group });
    await Promise.all([...this.masterAddresses().values()].flatMap((address) => requests.map(async (extFields) => {
      try {
        await this.remoting.invoke(address, makeRequest(RequestCode.UNREGISTER_CLIENT, { extFields }), 1000);
      } catch {
        // Best effort: the broker drops silent clients after 120 s anyway.
      }
    })));
  }
}

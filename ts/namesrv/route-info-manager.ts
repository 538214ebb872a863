// The name server's route table: which brokers are alive, which broker groups serve which
// topics. Pure in-memory state with no I/O and no clock of its own (callers pass `nowMs`), so
// it is tested directly and driven by the processors.
//
// Tables:
//   topic      -> brokerName -> QueueData   (queues a broker group offers for the topic)
//   brokerName -> BrokerData                (cluster, and brokerId -> address)
//   cluster    -> set of brokerName
//   brokerAddr -> BrokerLiveInfo            (last registration time, data version, connection)
//
// Lifecycle rules (as in the Java name server):
// - Only a master (brokerId 0) updates a group's topic queues, and only on its first
//   registration or when its DataVersion changed.
// - Registration upserts the listed topics and never deletes unlisted ones: brokers also send
//   incremental registrations carrying just a newly created topic.
// - A broker address leaves the table when it unregisters, expires, or the connection it
//   registered on closes. When a group has no address left, the group, its cluster membership
//   and its queues on every topic are removed; topics left without queues disappear.

import type {
  BrokerData, ClusterInfo, DataVersion, QueueData, TopicConfig, TopicRouteData,
} from '../protocol/namesrv-bodies.js';
import { dataVersionEquals } from '../protocol/namesrv-bodies.js';

/** The master's broker id. */
export const MASTER_ID = 0;

/** What the name server knows about one live broker process. */
export interface BrokerLiveInfo {
  brokerAddr: string;
  brokerName: string;
  clusterName: string;
  brokerId: number;
  haServerAddr: string;
  dataVersion: DataVersion;
  lastUpdateMs: number;
  /** Connection the last registration came on; its close removes the broker. */
  connectionId: number | undefined;
}

/** A REGISTER_BROKER request, decoded. */
export interface BrokerRegistration {
  clusterName: string;
  brokerAddr: string;
  brokerName: string;
  brokerId: number;
  haServerAddr: string;
  enableActingMaster: boolean;
  topicConfigTable: Readonly<Record<string, TopicConfig>>;
  dataVersion: DataVersion;
  connectionId: number | undefined;
  nowMs: number;
}

/** Filled for slaves when their master is registered. */
export interface RegistrationResult {
  haServerAddr?: string;
  masterAddr?: string;
}

interface GroupEntry {
  cluster: string;
  brokerName: string;
  enableActingMaster: boolean;
  addrs: Map<number, string>;
}

/** The route table. Not thread-safe by design: Node runs it on one thread. */
export class RouteInfoManager {
  readonly #topicQueues = new Map<string, Map<string, QueueData>>();
  readonly #groups = new Map<string, GroupEntry>();
  readonly #clusters = new Map<string, Set<string>>();
  readonly #live = new Map<string, BrokerLiveInfo>();

  /** Registers (or refreshes) a broker. */
  registerBroker(registration: BrokerRegistration): RegistrationResult {
    const { clusterName, brokerAddr, brokerName, brokerId } = registration;
    const group = this.#joinGroup(registration);
    const previous = group.addrs.get(brokerId);
    // An address that changes role (slave promoted to master) is first removed from its old id.
    for (const [id, addr] of group.addrs) if (addr === brokerAddr && id !== brokerId) group.addrs.delete(id);
    group.addrs.set(brokerId, brokerAddr);
    if (previous !== undefined && previous !== brokerAddr) this.#live.delete(previous);
    const firstRegistration = previous !== brokerAddr || !this.#live.has(brokerAddr);

    const changed = firstRegistration || this.isBrokerTopicConfigChanged(brokerAddr, registration.dataVersion);
    if (brokerId === MASTER_ID && changed) {
      for (const config of Object.values(registration.topicConfigTable)) this.#upsertQueueData(brokerName, config);
    }
    this.#live.set(brokerAddr, {
      brokerAddr, brokerName, clusterName, brokerId,
      haServerAddr: registration.haServerAddr,
      dataVersion: { ...registration.dataVersion },
      lastUpdateMs: registration.nowMs,
      connectionId: registration.connectionId,
    });
    if (brokerId === MASTER_ID) return {};
    const masterAddr = group.addrs.get(MASTER_ID);
    const master = masterAddr === undefined ? undefined : this.#live.get(masterAddr);
    if (masterAddr === undefined || master === undefined) return {};
    return { haServerAddr: master.haServerAddr, masterAddr };
  }

  #joinGroup(registration: BrokerRegistration): GroupEntry {
    const { clusterName, brokerName } = registration;
    let group = this.#groups.get(brokerName);
    if (group === undefined) {
      group = { cluster: clusterName, brokerName, enableActingMaster: false, addrs: new Map() };
      this.#groups.set(brokerName, group);
    } else if (group.cluster !== clusterName) {
      this.#clusters.get(group.cluster)?.delete(brokerName);
      if (this.#clusters.get(group.cluster)?.size === 0) this.#clusters.delete(group.cluster);
      group.cluster = clusterName;
    }
    group.enableActingMaster = registration.enableActingMaster;
    let members = this.#clusters.get(clusterName);
    if (members === undefined) {
      members = new Set();
      this.#clusters.set(clusterName, members);
    }
    members.add(brokerName);
    return group;
  }

  #upsertQueueData(brokerName: string, config: TopicConfig): void {
    let queues = this.#topicQueues.get(config.topicName);
    if (queues === undefined) {
      queues = new Map();
      this.#topicQueues.set(config.topicName, queues);
    }
    queues.set(brokerName, {
      brokerName,
      readQueueNums: config.readQueueNums,
      writeQueueNums: config.writeQueueNums,
      perm: config.perm,
      topicSysFlag: config.topicSysFlag,
    });
  }

  /** UNREGISTER_BROKER: removes the broker's id from its group. Returns true if it was known. */
  unregisterBroker(request: { brokerName: string; brokerAddr: string; brokerId: number }): boolean {
    const known = this.#live.delete(request.brokerAddr);
    const group = this.#groups.get(request.brokerName);
    if (group === undefined) return known;
    const removed = group.addrs.delete(request.brokerId);
    if (group.addrs.size === 0) this.#removeGroup(group);
    return known || removed;
  }

  /** Removes every broker whose registration came on `connectionId`. Returns their addresses. */
  removeBrokersOfConnection(connectionId: number): string[] {
    const addresses = [...this.#live.values()]
      .filter((live) => live.connectionId === connectionId)
      .map((live) => live.brokerAddr);
    for (const address of addresses) this.#removeBrokerAddr(address);
    return addresses;
  }

  /** Removes brokers whose last registration is older than `expiryMs`. Returns their addresses. */
  removeExpiredBrokers(nowMs: number, expiryMs: number): string[] {
    const addresses = [...this.#live.values()]
      .filter((live) => live.lastUpdateMs + expiryMs < nowMs)
      .map((live) => live.brokerAddr);
    for (const address of addresses) this.#removeBrokerAddr(address);
    return addresses;
  }

  #removeBrokerAddr(brokerAddr: string): void {
    this.#live.delete(brokerAddr);
    for (const group of [...this.#groups.values()]) {
      for (const [id, addr] of group.addrs) if (addr === brokerAddr) group.addrs.delete(id);
      if (group.addrs.size === 0) this.#removeGroup(group);
    }
  }

  #removeGroup(group: GroupEntry): void {
    this.#groups.delete(group.brokerName);
    const members = this.#clusters.get(group.cluster);
    members?.delete(group.brokerName);
    if (members?.size === 0) this.#clusters.delete(group.cluster);
    for (const [topic, queues] of this.#topicQueues) {
      queues.delete(group.brokerName);
      if (queues.size === 0) this.#topicQueues.delete(topic);
    }
  }

  /** True if the broker is unknown or registered a different DataVersion. */
  isBrokerTopicConfigChanged(brokerAddr: string, dataVersion: DataVersion): boolean {
    const live = this.#live.get(brokerAddr);
    return live === undefined || !dataVersionEquals(live.dataVersion, dataVersion);
  }

  /** Marks the broker as alive now (QUERY_DATA_VERSION with an unchanged version). */
  touchBroker(brokerAddr: string, nowMs: number): void {
    const live = this.#live.get(brokerAddr);
    if (live !== undefined) live.lastUpdateMs = nowMs;
  }

  /** The broker's live record, if registered. */
  liveBroker(brokerAddr: string): Readonly<BrokerLiveInfo> | undefined {
    return this.#live.get(brokerAddr);
  }

  /** Route of `topic`, or null if no live broker group serves it. */
  getTopicRoute(topic: string): TopicRouteData | null {
    const queues = this.#topicQueues.get(topic);
    if (queues === undefined || queues.size === 0) return null;
    const brokerNames = [...queues.keys()].sort();
    const brokerDatas: BrokerData[] = [];
    for (const name of brokerNames) {
      const group = this.#groups.get(name);
      if (group !== undefined) brokerDatas.push(this.#brokerData(group));
    }
    if (brokerDatas.length === 0) return null;
    return {
      queueDatas: brokerNames.map((name) => ({ ...(queues.get(name) as QueueData) })),
      brokerDatas,
      filterServerTable: {},
    };
  }

  #brokerData(group: GroupEntry): BrokerData {
    const brokerAddrs: Record<string, string> = {};
    for (const id of [...group.addrs.keys()].sort((a, b) => a - b)) {
      brokerAddrs[String(id)] = group.addrs.get(id) as string;
    }
    const { cluster, brokerName, enableActingMaster } = group;
    return { cluster, brokerName, brokerAddrs, enableActingMaster };
  }

  /** Every broker group and cluster (GET_BROKER_CLUSTER_INFO). */
  getClusterInfo(): ClusterInfo {
    const info: ClusterInfo = { brokerAddrTable: {}, clusterAddrTable: {} };
    for (const name of [...this.#groups.keys()].sort()) {
      info.brokerAddrTable[name] = this.#brokerData(this.#groups.get(name) as GroupEntry);
    }
    for (const cluster of [...this.#clusters.keys()].sort()) {
      info.clusterAddrTable[cluster] = [...(this.#clusters.get(cluster) as Set<string>)].sort();
    }
    return info;
  }

  /**
   * DELETE_TOPIC_IN_NAMESRV: forgets the topic's queues on the brokers of `clusterName`, or
   * everywhere. Returns whether anything was removed.
   */
  deleteTopic(topic: string, clusterName?: string): boolean {
    const queues = this.#topicQueues.get(topic);
    if (queues === undefined) return false;
    if (clusterName === undefined || clusterName === '') {
      this.#topicQueues.delete(topic);
      return true;
    }
    const members = this.#clusters.get(clusterName);
    let removed = false;
    for (const brokerName of members ?? []) removed = queues.delete(brokerName) || removed;
    if (queues.size === 0) this.#topicQueues.delete(topic);
    return removed;
  }

  /** GET_TOPICS_BY_CLUSTER: topics served by at least one broker group of the cluster, sorted. */
  getTopicsByCluster(clusterName: string): string[] {
    const members = this.#clusters.get(clusterName);
    if (members === undefined) return [];
    const topics: string[] = [];
    for (const [topic, queues] of this.#topicQueues) {
      if ([...queues.keys()].some((brokerName) => members.has(brokerName))) topics.push(topic);
    }
    return topics.sort();
  }

  /**
   * GET_SYSTEM_TOPIC_LIST_FROM_NS: the topics named after clusters and broker groups (every
   * broker creates them), plus the address of one master.
   */
  getSystemTopics(): { topics: string[]; brokerAddr: string | undefined } {
    const topics = new Set<string>([...this.#clusters.keys(), ...this.#groups.keys()]);
    let brokerAddr: string | undefined;
    for (const name of [...this.#groups.keys()].sort()) {
      brokerAddr ??= this.#groups.get(name)?.addrs.get(MASTER_ID);
    }
    return { topics: [...topics].sort(), brokerAddr };
  }

  /**
   * WIPE_WRITE_PERM_OF_BROKER (`add` false) / ADD_WRITE_PERM_OF_BROKER (`add` true): clears or
   * sets the WRITE bit of every topic's queues on a broker group. Returns how many changed.
   */
  updateWritePerm(brokerName: string, add: boolean): number {
    const WRITE = 2;
    let count = 0;
    for (const queues of this.#topicQueues.values()) {
      const data = queues.get(brokerName);
      if (data === undefined) continue;
      const perm = add ? data.perm | WRITE : data.perm & ~WRITE;
      if (perm !== data.perm) {
        data.perm = perm;
        count += 1;
      }
    }
    return count;
  }

  /** Every topic with at least one live broker group, sorted. */
  getAllTopics(): string[] {
    return [...this.#topicQueues.keys()].sort();
  }
}

// What request processors share: the store, the config managers, the client registry and the
// settings. The controller builds one and hands it to every processor factory, so processors
// never reach into the controller and can be tested with a context of their own.

import type { Logger } from '../common/logger.js';
import { makeResponse, type RemotingCommand } from '../protocol/command.js';
import type { MessageStore } from '../store/index.js';
import type { ResolvedBrokerOptions } from './broker-options.js';
import type { BrokerStats } from './broker-stats.js';
import type { ClientManager } from './client-manager.js';
import type { ConsumerOffsetManager } from './consumer-offset-manager.js';
import type { RebalanceLockManager } from './rebalance-lock-manager.js';
import type { SubscriptionGroupManager } from './subscription-group-manager.js';
import type { TopicConfigManager } from './topic-config-manager.js';

export interface BrokerContext {
  readonly options: ResolvedBrokerOptions;
  readonly store: MessageStore;
  readonly topics: TopicConfigManager;
  readonly groups: SubscriptionGroupManager;
  readonly offsets: ConsumerOffsetManager;
  readonly clients: ClientManager;
  readonly locks: RebalanceLockManager;
  /** Put/get counters and rates for the admin calls. */
  readonly stats: BrokerStats;
  readonly logger: Logger;
  /** brokerIP1:port actually bound: the STOREHOST and the address registered with name servers. */
  brokerAddr(): string;
  /** Timer messages stored and not yet delivered (the timer service's wheel plus its unread backlog). */
  timerBacklog(): number;
  /** A timer message was appended at `queueOffset` of the timer queue (counted before it is dispatched). */
  timerStored(queueOffset: number): void;
  /** The timer service's figures for /metrics (zeros on a slave, which delivers no timers). */
  timerStats(): TimerStats;
}

export interface TimerStats {
  /** Timer messages stored and not yet delivered (recall markers included). */
  backlog: number;
  /** Bytes of the timing wheel's node pool. */
  wheelBytes: number;
  /** Timer messages not delivered because they were recalled, since start. */
  recalled: number;
  /** Recalls held in memory until their marker's time passes. */
  pendingCancellations: number;
}

/** A response with a code and a remark (the common error reply). */
export function reply(request: RemotingCommand, code: number, remark?: string): RemotingCommand {
  return makeResponse(request, code, remark === undefined ? {} : { remark });
}

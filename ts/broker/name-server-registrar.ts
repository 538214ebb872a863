// Registration with the name servers (RocketMQ BrokerOuterAPI + the register task): the
// broker's address and topic table go to every name server at start, every
// registerNameServerPeriod, and at once after a topic change; at shutdown the broker
// unregisters so routes drop it immediately instead of after the 120 s expiry.
//
// Registrations never overlap: a change during a registration sets a flag, and one more
// round runs after it, so a burst of topic creations costs at most two rounds.

import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { makeRequest } from '../protocol/command.js';
import { crc32Masked } from '../protocol/crc32.js';
import { encodeHeader } from '../protocol/header-schema.js';
import { RegisterBrokerRequestHeader, UnregisterBrokerRequestHeader } from '../protocol/headers-namesrv.js';
import { encodeRegisterBrokerBody, type DataVersion, type TopicConfig } from '../protocol/namesrv-bodies.js';
import { RemotingClient } from '../remoting/client.js';

export interface RegistrarOptions {
  namesrvAddrs: readonly string[];
  clusterName: string;
  brokerName: string;
  brokerId: number;
  /** brokerIP1:port, and the HA address (brokerIP1:port+1). */
  brokerAddr: () => string;
  haServerAddr: () => string;
  periodMs: number;
  timeoutMs: number;
  topics: () => { table: Record<string, TopicConfig>; dataVersion: DataVersion };
  logger: Logger;
}

export class NameServerRegistrar {
  readonly #options: RegistrarOptions;
  readonly #client: RemotingClient;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(options: RegistrarOptions) {
    this.#options = options;
    this.#client = new RemotingClient({ logger: options.logger });
  }

  /** Registers now (awaited) and then every period. */
  async start(): Promise<void> {
    await this.registerNow();
    this.#timer = setInterval(() => void this.registerNow(), this.#options.periodMs);
    this.#timer.unref();
  }

  /** Registers with every name server; coalesces with a registration already running. */
  registerNow(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    const run = async (): Promise<void> => {
      do {
        this.#again = false;
        await this.#registerAll();
      } while (this.#again && !this.#stopped);
    };
    this.#running = run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #registerAll(): Promise<void> {
    const { table, dataVersion } = this.#options.topics();
    const body = encodeRegisterBrokerBody({
      topicConfigSerializeWrapper: { topicConfigTable: table, dataVersion }, filterServerList: [],
    });
    const extFields = encodeHeader(RegisterBrokerRequestHeader, {
      brokerName: this.#options.brokerName, brokerAddr: this.#options.brokerAddr(), clusterName: this.#options.clusterName,
      haServerAddr: this.#options.haServerAddr(), brokerId: this.#options.brokerId, compressed: false,
      bodyCrc32: crc32Masked(body),
    });
    await Promise.all(this.#options.namesrvAddrs.map(async (address) => {
      try {
        const response = await this.#client.invoke(address, makeRequest(RequestCode.REGISTER_BROKER, { extFields, body }),
          this.#options.timeoutMs);
        if (response.code !== ResponseCode.SUCCESS) {
          this.#options.logger.warn('name server refused the registration', { address, code: response.code, remark: response.remark });
        }
      } catch (error) {
        this.#options.logger.warn('registration with a name server failed', { address, error: errorMessage(error) });
      }
    }));
  }

  /** Stops the periodic registration, unregisters from every name server, closes connections. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
    const extFields = encodeHeader(UnregisterBrokerRequestHeader, {
      brokerName: this.#options.brokerName, brokerAddr: this.#options.brokerAddr(),
      clusterName: this.#options.clusterName, brokerId: this.#options.brokerId,
    });
    await Promise.all(this.#options.namesrvAddrs.map(async (address) => {
      try {
        await this.#client.invoke(address, makeRequest(RequestCode.UNREGISTER_BROKER, { extFields }), 3000);
      } catch (error) {
        this.#options.logger.warn('unregistering from a name server failed', { address, error: errorMessage(error) });
      }
    }));
    await this.#client.close();
  }
}

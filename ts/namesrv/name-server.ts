// NameServer: the route registry brokers register with and clients ask for topic routes.
// Stateless apart from the optional KV file: brokers re-register every 30 s, so a restarted
// name server has a complete route table again within one registration period.

import { ClosedError } from '../common/errors.js';
import { createLogger, type Logger } from '../common/logger.js';
import { RemotingServer, type ListenAddress } from '../remoting/server.js';
import { resolveNamesrvConfig, type NamesrvConfig, type ResolvedNamesrvConfig } from './config.js';
import { KvConfigStore } from './kv-config.js';
import { namesrvProcessors } from './processors.js';
import { RouteInfoManager } from './route-info-manager.js';

/** A name server. `start`, then `stop`; not restartable. */
export class NameServer {
  readonly #config: ResolvedNamesrvConfig;
  readonly #logger: Logger;
  readonly #routes = new RouteInfoManager();
  readonly #kv: KvConfigStore;
  readonly #server: RemotingServer;
  #scanTimer: NodeJS.Timeout | undefined;
  #state: 'new' | 'starting' | 'running' | 'stopped' = 'new';

  /** @throws ConfigError for invalid configuration. */
  constructor(config: NamesrvConfig = {}) {
    this.#config = resolveNamesrvConfig(config);
    this.#logger = config.logger ?? createLogger('namesrv');
    this.#kv = new KvConfigStore(this.#config.kvConfigPath);
    this.#server = new RemotingServer({ ...this.#config.remoting, logger: this.#logger });
    const processors = namesrvProcessors({
      routes: this.#routes,
      kv: this.#kv,
      orderMessageEnable: this.#config.orderMessageEnable,
      logger: this.#logger,
      now: Date.now,
    });
    for (const [code, handler] of processors) this.#server.registerProcessor(code, handler);
    // A broker's registration dies with the connection it came on (Java: channel destroyed).
    this.#server.onClose((connection, info) => {
      const removed = this.#routes.removeBrokersOfConnection(connection.id);
      if (removed.length === 0) return;
      this.#logger.info('brokers removed: connection closed', { brokers: removed, reason: info.reason });
    });
  }

  /**
   * Loads the KV file (if configured), listens, and starts the expiry scan. `address`
   * overrides the configured host/port.
   */
  async start(address: { host?: string; port?: number } = {}): Promise<ListenAddress> {
    if (this.#state !== 'new') throw new ClosedError(`name server cannot start: it is ${this.#state}`);
    this.#state = 'starting';
    try {
      await this.#kv.load();
      const bound = await this.#server.listen(address.host ?? this.#config.host, address.port ?? this.#config.port);
      this.#scanTimer = setInterval(() => this.#scan(), this.#config.scanIntervalMs);
      // The listening socket keeps the process alive; the scan alone should not.
      this.#scanTimer.unref();
      this.#state = 'running';
      return bound;
    } catch (error) {
      this.#state = 'stopped';
      await this.#server.close();
      throw error;
    }
  }

  /** The bound port (0 until started). */
  get port(): number {
    return this.#server.port;
  }

  /** The live route table (read it; mutate only through requests). */
  get routes(): RouteInfoManager {
    return this.#routes;
  }

  /** Stops listening, closes every connection and the expiry scan. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    clearInterval(this.#scanTimer);
    this.#scanTimer = undefined;
    await this.#server.close();
  }

  #scan(): void {
    const removed = this.#routes.removeExpiredBrokers(Date.now(), this.#config.brokerExpiryMs);
    if (removed.length > 0) {
      this.#logger.warn('brokers expired: no registration within the expiry period', {
        brokers: removed,
        brokerExpiryMs: this.#config.brokerExpiryMs,
      });
    }
  }
}

/** Creates and starts a name server (the CLI's entry point). */
export async function startNamesrv(config: NamesrvConfig = {}): Promise<NameServer> {
  const server = new NameServer(config);
  await server.start();
  return server;
}


// A broker with its HTTP gateway: what `bolide broker`, `bolide dev` and test processes run.
// The gateway is layered on the broker (it imports broker code; the broker never imports it),
// so composition happens here rather than inside BrokerController.
import type { Logger } from '../common/logger.js';
import { BrokerController, type BrokerAddress, type BrokerOptions } from '../broker/index.js';
import { Gateway } from './gateway.js';

/** Starts a Gateway for a started broker (gatewayHost/gatewayPort/gatewayMaxBodyBytes from its options unless overridden). */
export async function attachGateway(broker: BrokerController, overrides: { host?: string; port?: number; logger?: Logger } = {}): Promise<Gateway> {
  const { context, send, startedAt } = broker.frontEnd();
  const o = broker.options;
  const gateway = new Gateway(
    { context, send, startedAt, connectionCount: () => broker.connectionCount, parkedPulls: () => broker.parkedPulls },
    { host: overrides.host ?? o.gatewayHost, port: overrides.port ?? o.gatewayPort, maxBodyBytes: o.gatewayMaxBodyBytes, wsMaxBufferedBytes: o.gatewayWsMaxBufferedBytes, logger: overrides.logger ?? o.logger },
  );
  await gateway.start();
  return gateway;
}

export class BrokerServer {
  private constructor(readonly broker: BrokerController, readonly gateway: Gateway | undefined, readonly address: BrokerAddress) {}

  /** Starts the broker, then its gateway when gatewayEnable; a gateway that cannot start stops the broker again. */
  static async start(options: BrokerOptions): Promise<BrokerServer> {
    const broker = new BrokerController(options);
    const address = await broker.start();
    if (!broker.options.gatewayEnable) return new BrokerServer(broker, undefined, address);
    try {
      return new BrokerServer(broker, await attachGateway(broker), address);
    } catch (error) {
      await broker.shutdown();
      throw error;
    }
  }

  /** host:port of the gateway, or undefined when disabled. */
  get gatewayAddress(): string | undefined {
    return this.gateway?.address;
  }

  async shutdown(): Promise<void> {
    this.gateway?.stop();
    await this.broker.shutdown();
  }
}

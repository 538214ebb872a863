// `bolide broker` and `bolide dev` (`npm start`).
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/conf-file.js';
import { brokerConfigSchema, ignoredBrokerKeys, type BrokerConfig } from '../config/broker-config.js';
import { createLogger } from '../common/logger.js';
import { BrokerServer } from '../gateway/broker-server.js';
import { loadNamesrvConfig, startNamesrvFromConfig, type Running } from './namesrv-command.js';

export function loadBrokerConfig(file: string | undefined, args: string[]): { config: BrokerConfig; warnings: string[] } {
  const loaded = loadConfig<BrokerConfig>(brokerConfigSchema, ignoredBrokerKeys, file ? { file, args } : { args });
  if (loaded.rest.length > 0) throw new Error(`unexpected arguments: ${loaded.rest.join(' ')}`);
  const config = loaded.config;
  if (config.namesrvAddr.length === 0 && process.env.NAMESRV_ADDR) {
    config.namesrvAddr = process.env.NAMESRV_ADDR.split(';').filter((a) => a !== '');
  }
  return { config, warnings: loaded.warnings };
}

async function startBroker(config: BrokerConfig): Promise<{ broker: BrokerServer; lines: string[] }> {
  const broker = await BrokerServer.start({ ...config, logger: createLogger('broker') });
  const address = broker.address;
  const lines = [
    `Broker ${config.brokerName} (cluster ${config.brokerClusterName}) listening on ${config.listenHost}:${address.port}` +
      (address.vipPort !== undefined ? ` (VIP ${address.vipPort})` : ''),
    `  advertised as ${address.brokerAddr}, NameServers: ${config.namesrvAddr.join(';') || '(none)'}`,
    `  store: ${resolve(config.storePathRootDir)} (${config.flushDiskType})`,
  ];
  if (broker.gatewayAddress !== undefined) lines.push(`  HTTP gateway: http://${broker.gatewayAddress} (produce, /api, /metrics)`);
  return { broker, lines };
}

export async function runBroker(file: string | undefined, args: string[]): Promise<Running> {
  const { config, warnings } = loadBrokerConfig(file, args);
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  const { broker, lines } = await startBroker(config);
  return { describe: () => lines, shutdown: () => broker.shutdown() };
}

/**
 * A NameServer and a broker in one process, listening on 127.0.0.1 only, with data in
 * ./.bolide/store. `--namesrvListenPort=N` sets the NameServer's port (9876); every other
 * override goes to the broker.
 */
export async function runDev(args: string[]): Promise<Running> {
  const namesrvPortArg = args.find((arg) => arg.startsWith('--namesrvListenPort='));
  const brokerArgs = args.filter((arg) => arg !== namesrvPortArg);
  const namesrvArgs = ['--listenHost=127.0.0.1'];
  if (namesrvPortArg) namesrvArgs.push(`--listenPort=${namesrvPortArg.slice('--namesrvListenPort='.length)}`);
  const namesrvConfig = loadNamesrvConfig(undefined, namesrvArgs).config;
  const namesrv = await startNamesrvFromConfig(namesrvConfig, createLogger('namesrv'));
  try {
    const { config, warnings } = loadBrokerConfig(undefined, [
      '--listenHost=127.0.0.1',
      '--brokerIP1=127.0.0.1',
      `--storePathRootDir=${join('.bolide', 'store')}`,
      `--namesrvAddr=127.0.0.1:${namesrv.port}`,
      ...brokerArgs,
    ]);
    for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
    const { broker, lines } = await startBroker(config);
    return {
      describe: () => [`NameServer listening on 127.0.0.1:${namesrv.port}`, ...lines],
      shutdown: async () => {
        await broker.shutdown();
        await namesrv.stop();
      },
    };
  } catch (error) {
    await namesrv.stop();
    throw error;
  }
}

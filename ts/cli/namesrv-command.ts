// `bolide namesrv`: a NameServer configured from namesrv.conf keys and --key=value overrides.
import { loadConfig } from '../config/conf-file.js';
import { ignoredNamesrvKeys, namesrvConfigSchema, type NamesrvConfig } from '../config/namesrv-config.js';
import { createLogger, type Logger } from '../common/logger.js';
import { NameServer } from '../namesrv/index.js';

export interface Running {
  /** Human-readable lines saying where things listen. */
  describe(): string[];
  shutdown(): Promise<void>;
}

export function loadNamesrvConfig(file: string | undefined, args: string[]): { config: NamesrvConfig; warnings: string[] } {
  const loaded = loadConfig<NamesrvConfig>(namesrvConfigSchema, ignoredNamesrvKeys, file ? { file, args } : { args });
  if (loaded.rest.length > 0) throw new Error(`unexpected arguments: ${loaded.rest.join(' ')}`);
  return { config: loaded.config, warnings: loaded.warnings };
}

export async function startNamesrvFromConfig(config: NamesrvConfig, logger: Logger = createLogger('namesrv')): Promise<NameServer> {
  const server = new NameServer({
    host: config.listenHost,
    port: config.listenPort,
    brokerExpiryMs: config.brokerExpiredTimeout,
    scanIntervalMs: config.scanNotActiveBrokerInterval,
    orderMessageEnable: config.orderMessageEnable,
    logger,
  });
  await server.start();
  return server;
}

export async function runNamesrv(file: string | undefined, args: string[]): Promise<Running> {
  const { config, warnings } = loadNamesrvConfig(file, args);
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  const server = await startNamesrvFromConfig(config);
  return {
    describe: () => [`NameServer listening on ${config.listenHost}:${server.port}`],
    shutdown: () => server.stop(),
  };
}

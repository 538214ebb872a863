// Entry script: starts a Bolide NameServer and broker in this process (a child of the test),
// prints one JSON line `{"namesrvAddr":…,"brokerAddr":…,"brokerName":…}` on stdout when both
// are up, and shuts down cleanly on SIGTERM/SIGINT or when stdin closes (the parent died).
//
//   node --import=tsx test/support/start-bolide.ts --storePathRootDir=/tmp/x [--key=value ...]
//
// `--key=value` arguments are broker.conf keys (validated by the broker config schema). With
// `--namesrvAddr=host:port` only the broker starts, registering to that NameServer (a second
// broker of a cluster); the printed namesrvAddr is then that one.
import { brokerConfigSchema, ignoredBrokerKeys, type BrokerConfig } from '../../ts/config/broker-config.js';
import { loadConfig, parseOverrides } from '../../ts/config/conf-file.js';
import { createLogger } from '../../ts/common/index.js';
import { BrokerServer } from '../../ts/gateway/broker-server.js';
import { NameServer } from '../../ts/namesrv/index.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const { config: full } = loadConfig<BrokerConfig>(brokerConfigSchema, ignoredBrokerKeys, { args });
  // Only the keys given override this script's test-sized defaults (not the schema defaults).
  const given = new Set(parseOverrides(args).entries.map((entry) => entry.key));
  const config = Object.fromEntries(Object.entries(full).filter(([key]) => given.has(key))) as Partial<BrokerConfig>;
  const external = config.namesrvAddr !== undefined && config.namesrvAddr.length > 0 ? config.namesrvAddr : undefined;
  const namesrv = external === undefined ? new NameServer({ logger: createLogger('namesrv', 'warn') }) : undefined;
  const namesrvAddrs = external ?? [`127.0.0.1:${(await namesrv!.start({ host: '127.0.0.1', port: 0 })).port}`];
  const namesrvAddr = namesrvAddrs.join(';');
  const server = await BrokerServer.start({
    listenHost: '127.0.0.1', brokerIP1: '127.0.0.1', listenPort: 0,
    mappedFileSizeCommitLog: 64 * 1024 * 1024, maxHashSlotNum: 50_000, maxIndexNum: 200_000, gatewayPort: 0,
    ...config, namesrvAddr: namesrvAddrs, logger: createLogger('broker', 'warn'),
  });
  const broker = server.broker;
  process.stdout.write(`${JSON.stringify({
    namesrvAddr, brokerAddr: broker.brokerAddr, brokerName: broker.options.brokerName, gatewayAddr: server.gatewayAddress ?? null,
  })}\n`);
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await server.shutdown();
    await namesrv?.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.stdin.on('end', () => void stop());
  process.stdin.on('close', () => void stop());
  process.stdin.resume();
}

main().catch((error: unknown) => {
  process.stderr.write(`start-bolide failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

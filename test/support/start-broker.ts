// Entry script: starts one Bolide broker (no name server) in this process, prints one JSON line
// `{"brokerAddr":…}` on stdout when it is up, and shuts down cleanly on SIGTERM/SIGINT or when
// stdin closes (the parent died). SIGKILL it to simulate a crash.
//
//   node --import=tsx test/support/start-broker.ts --storePathRootDir=/tmp/x --namesrvAddr=h:p [--key=value ...]
//
// `--key=value` arguments are broker.conf keys (validated by the broker config schema).
import { brokerConfigSchema, ignoredBrokerKeys, type BrokerConfig } from '../../ts/config/broker-config.js';
import { loadConfig, parseOverrides } from '../../ts/config/conf-file.js';
import { createLogger } from '../../ts/common/index.js';
import { BrokerController } from '../../ts/broker/index.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const { config: full } = loadConfig<BrokerConfig>(brokerConfigSchema, ignoredBrokerKeys, { args });
  const given = new Set(parseOverrides(args).entries.map((entry) => entry.key));
  const config = Object.fromEntries(Object.entries(full).filter(([key]) => given.has(key))) as Partial<BrokerConfig>;
  const broker = new BrokerController({
    listenHost: '127.0.0.1', brokerIP1: '127.0.0.1', listenPort: 0,
    mappedFileSizeCommitLog: 64 * 1024 * 1024, maxHashSlotNum: 50_000, maxIndexNum: 200_000,
    ...config, logger: createLogger('broker', 'warn'),
  });
  await broker.start();
  process.stdout.write(`${JSON.stringify({ brokerAddr: broker.brokerAddr })}\n`);
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await broker.shutdown();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.stdin.on('end', () => void stop());
  process.stdin.on('close', () => void stop());
  process.stdin.resume();
}

main().catch((error: unknown) => {
  process.stderr.write(`start-broker failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

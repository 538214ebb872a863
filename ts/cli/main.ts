#!/usr/bin/env -S node --max-old-space-size=256
// The `bolide` command. Subcommands start the NameServer, a broker, or both for development.
// Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad usage or configuration.
import { BolideError } from '../common/errors.js';
import { runNamesrv, type Running } from './namesrv-command.js';
import { runBroker, runDev } from './broker-command.js';

const USAGE = `Usage: bolide <command> [options]

Commands:
  namesrv [-c namesrv.conf] [--key=value ...]   start a NameServer (default port 9876)
  broker  [-c broker.conf]  [--key=value ...]   start a broker (RocketMQ broker.conf keys)
  dev     [--key=value ...]                     NameServer + broker in one process on
                                                127.0.0.1 (9876 / 10911, HTTP gateway 8080),
                                                data in ./.bolide/store
  admin   <command> -n host:port [options]      mqadmin commands (bolide admin help)
  help                                          this text

Any config key can be given as --key=value and overrides the file, e.g.
  bolide namesrv --listenPort=9877
  bolide broker -c broker.conf --brokerName=broker-b --listenPort=10921
`;

function splitConfigFlag(args: string[]): { file: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-c' || arg === '--config') {
      file = args[++i];
      if (!file) throw new BolideError('USAGE', `${arg} needs a file name`);
    } else {
      rest.push(arg);
    }
  }
  return { file, rest };
}

async function start(argv: string[]): Promise<Running | null> {
  const [command, ...args] = argv;
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return null;
  }
  const { file, rest } = splitConfigFlag(args);
  switch (command) {
    case 'namesrv':
      return runNamesrv(file, rest);
    case 'broker':
      return runBroker(file, rest);
    case 'dev':
      if (file) throw new BolideError('USAGE', 'dev takes no config file; use --key=value overrides');
      return runDev(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return null;
    default:
      throw new BolideError('USAGE', `unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  }
}

function installSignalHandlers(running: Running): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting without finishing the shutdown\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`${signal}: shutting down (flush, checkpoint, persist offsets)...\n`);
    running.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

const argv = process.argv.slice(2);
if (argv[0] === 'admin') {
  // A client command: runs once and exits with its status (no servers, no signal handlers).
  const { runAdmin } = await import('./admin-command.js');
  process.exitCode = await runAdmin(argv.slice(1));
} else {
  await serve(argv);
}

async function serve(args: string[]): Promise<void> {
  try {
    const running = await start(args);
    if (running) {
      for (const line of running.describe()) process.stdout.write(`${line}\n`);
      installSignalHandlers(running);
    }
  } catch (error) {
    const usage = error instanceof BolideError && (error.code === 'USAGE' || error.code === 'CONFIG_INVALID');
    process.stderr.write(`bolide: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(usage ? 2 : 1);
  }
}

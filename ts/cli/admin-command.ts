// `bolide admin <command>`: RocketMQ's mqadmin vocabulary over the remoting protocol, so it
// works against any RocketMQ-protocol NameServer and broker (Bolide or Apache). Tables by
// default, `--json` for scripts. Exit codes: 0 ok, 1 the cluster refused or failed, 2 usage.
import { BolideError, errorMessage } from '../common/errors.js';
import { Admin, silentLogger, type MessageExt } from '../sdk/index.js';
import { formatPairs, formatTable } from './table.js';

export const ADMIN_USAGE = `Usage: bolide admin <command> -n <namesrv host:port[;host:port]> [options] [--json]

Commands (mqadmin names and option letters):
  clusterList                                   brokers of every cluster, with version and TPS
  topicList                                     every topic the name servers know
  topicRoute        -t topic                    queues and brokers of a topic
  topicStatus       -t topic                    min/max offset per queue
  updateTopic       -t topic [-c cluster | -b brokerAddr] [-r readQueueNums] [-w writeQueueNums] [-p perm] [-o order]
  deleteTopic       -t topic [-c cluster]
  updateSubGroup    -g group [-c cluster | -b brokerAddr] [-r retryMaxTimes] [-s consumeEnable] [-d consumeBroadcastEnable]
  consumerProgress  -g group [-t topic]         committed offset and lag per queue
  queryMsgById      -i msgId [-t topic]         an offset msgId, or a client msgId within -t topic
  queryMsgByKey     -t topic -k key             messages whose KEYS contain key
  resetOffsetByTime -g group -t topic -s time   time: epoch ms, now, or yyyy-MM-dd#HH:mm:ss:SSS
  brokerStatus      -b brokerAddr               the broker's runtime table
`;

/** Bad command line: exit status 2. */
export class AdminUsageError extends BolideError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

interface Parsed {
  command: string;
  options: Map<string, string>;
  json: boolean;
}

const FLAGS_WITH_VALUES = new Set(['n', 't', 'c', 'b', 'r', 'w', 'p', 'o', 'g', 'i', 'k', 's', 'd']);

function parse(args: string[]): Parsed {
  const [command, ...rest] = args;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    throw new AdminUsageError('no command given');
  }
  const options = new Map<string, string>();
  let json = false;
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i] as string;
    if (arg === '--json') {
      json = true;
      continue;
    }
    const flag = arg.startsWith('-') && !arg.startsWith('--') ? arg.slice(1) : undefined;
    if (flag === undefined || !FLAGS_WITH_VALUES.has(flag)) throw new AdminUsageError(`unknown option ${arg}`);
    const value = rest[i + 1];
    if (value === undefined) throw new AdminUsageError(`${arg} needs a value`);
    options.set(flag, value);
    i += 1;
  }
  return { command, options, json };
}

function required(parsed: Parsed, flag: string, what: string): string {
  const value = parsed.options.get(flag);
  if (value === undefined || value === '') throw new AdminUsageError(`${parsed.command} needs -${flag} <${what}>`);
  return value;
}

function intOption(parsed: Parsed, flag: string, min: number, max: number): number | undefined {
  const text = parsed.options.get(flag);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new AdminUsageError(`-${flag} must be an integer in [${min}, ${max}]`);
  return value;
}

function boolOption(parsed: Parsed, flag: string): boolean | undefined {
  const text = parsed.options.get(flag);
  if (text === undefined) return undefined;
  if (text !== 'true' && text !== 'false') throw new AdminUsageError(`-${flag} must be true or false`);
  return text === 'true';
}

/** mqadmin's time formats: epoch ms, "now", or yyyy-MM-dd#HH:mm:ss:SSS (local time). */
export function parseAdminTime(text: string): number {
  if (text === 'now') return Date.now();
  if (/^\d+$/.test(text)) return Number(text);
  const match = text.match(/^(\d{4})-(\d{2})-(\d{2})#(\d{2}):(\d{2}):(\d{2}):(\d{3})$/);
  if (match === null) throw new AdminUsageError(`time ${JSON.stringify(text)} is not epoch ms, now, or yyyy-MM-dd#HH:mm:ss:SSS`);
  const [, y, mo, d, h, mi, s, ms] = match.map(Number) as number[];
  return new Date(y!, mo! - 1, d!, h!, mi!, s!, ms!).getTime();
}

function time(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString() : '-';
}

function messageDetail(m: MessageExt): Record<string, unknown> {
  return {
    topic: m.topic, msgId: m.msgId, offsetMsgId: m.offsetMsgId, brokerName: m.brokerName, queueId: m.queueId,
    queueOffset: m.queueOffset, tags: m.tags ?? '', keys: m.keys, bornTimestamp: m.bornTimestamp, storeTimestamp: m.storeTimestamp,
    bornHost: m.bornHost, storeHost: m.storeHost, reconsumeTimes: m.reconsumeTimes, properties: m.properties,
    bodyLength: m.body.length, body: m.body.toString('utf8'),
  };
}

type Output = { json: unknown; text: string };

async function brokerNamesFor(admin: Admin, parsed: Parsed): Promise<{ clusterName?: string; brokerNames?: string[] }> {
  const brokerAddr = parsed.options.get('b');
  const clusterName = parsed.options.get('c');
  if (brokerAddr === undefined) return clusterName === undefined ? {} : { clusterName };
  const info = await admin.clusterInfo();
  const name = Object.values(info.brokerAddrTable).find((b) => Object.values(b.brokerAddrs).includes(brokerAddr))?.brokerName;
  if (name === undefined) throw new BolideError('NO_SUCH_BROKER', `no broker at ${brokerAddr} is registered with the name server`);
  return { brokerNames: [name] };
}

async function execute(admin: Admin, parsed: Parsed): Promise<Output> {
  switch (parsed.command) {
    case 'clusterList': {
      const info = await admin.clusterInfo();
      const rows: Array<Record<string, string | number>> = [];
      for (const [cluster, names] of Object.entries(info.clusterAddrTable)) {
        for (const brokerName of [...names].sort()) {
          for (const [brokerId, addr] of Object.entries(info.brokerAddrTable[brokerName]?.brokerAddrs ?? {})) {
            const runtime = await admin.brokerRuntimeInfo(addr).catch(() => ({} as Record<string, string>));
            rows.push({
              cluster, brokerName, brokerId: Number(brokerId), addr, version: runtime['brokerVersionDesc'] ?? '?',
              putTps: (runtime['putTps'] ?? '').split(' ')[0] ?? '', getTps: (runtime['getTransferedTps'] ?? runtime['getTransferredTps'] ?? '').split(' ')[0] ?? '',
            });
          }
        }
      }
      return {
        json: rows,
        text: formatTable(['#Cluster Name', '#Broker Name', '#BID', '#Addr', '#Version', '#InTPS', '#OutTPS'],
          rows.map((r) => [r['cluster']!, r['brokerName']!, r['brokerId']!, r['addr']!, r['version']!, r['putTps']!, r['getTps']!])),
      };
    }
    case 'topicList': {
      const topics = await admin.topicList();
      return { json: topics, text: topics.length === 0 ? '' : `${topics.join('\n')}\n` };
    }
    case 'topicRoute': {
      const route = await admin.topicRoute(required(parsed, 't', 'topic'));
      const rows = route.queueDatas.map((q) => [q.brokerName, q.readQueueNums, q.writeQueueNums, q.perm,
        Object.entries(route.brokerDatas.find((b) => b.brokerName === q.brokerName)?.brokerAddrs ?? {}).map(([id, a]) => `${id}=${a}`).join(' ')]);
      return { json: route, text: formatTable(['#Broker Name', '#Read Queues', '#Write Queues', '#Perm', '#Addrs'], rows) };
    }
    case 'topicStatus': {
      const stats = await admin.topicStats(required(parsed, 't', 'topic'));
      return {
        json: stats,
        text: formatTable(['#Broker Name', '#QID', '#Min Offset', '#Max Offset', '#Last Updated'],
          stats.map((s) => [s.queue.brokerName, s.queue.queueId, s.minOffset, s.maxOffset, time(s.lastUpdateTimestamp)])),
      };
    }
    case 'updateTopic': {
      const topic = required(parsed, 't', 'topic');
      const queues = intOption(parsed, 'w', 1, 1024) ?? intOption(parsed, 'r', 1, 1024) ?? 8;
      const perm = intOption(parsed, 'p', 0, 7) ?? 6;
      const order = boolOption(parsed, 'o') ?? false;
      await admin.createTopic(topic, { queueNums: queues, perm, order, ...(await brokerNamesFor(admin, parsed)) });
      return { json: { topic, queueNums: queues, perm, order, status: 'OK' }, text: `create topic ${topic} (queues ${queues}, perm ${perm}) success\n` };
    }
    case 'deleteTopic': {
      const topic = required(parsed, 't', 'topic');
      const clusterName = parsed.options.get('c');
      await admin.deleteTopic(topic, clusterName === undefined ? {} : { clusterName });
      return { json: { topic, status: 'OK' }, text: `delete topic ${topic} success\n` };
    }
    case 'updateSubGroup': {
      const group = required(parsed, 'g', 'group');
      const config = {
        ...(intOption(parsed, 'r', 0, 1_000) === undefined ? {} : { retryMaxTimes: intOption(parsed, 'r', 0, 1_000) as number }),
        ...(boolOption(parsed, 's') === undefined ? {} : { consumeEnable: boolOption(parsed, 's') as boolean }),
        ...(boolOption(parsed, 'd') === undefined ? {} : { consumeBroadcastEnable: boolOption(parsed, 'd') as boolean }),
      };
      await admin.updateSubscriptionGroup(group, config, await brokerNamesFor(admin, parsed));
      return { json: { group, ...config, status: 'OK' }, text: `create subscription group ${group} success\n` };
    }
    case 'consumerProgress': {
      const group = required(parsed, 'g', 'group');
      const topic = parsed.options.get('t');
      const stats = await admin.consumeStats(group, topic);
      const rows = stats.queues.map((q) => [q.queue.topic, q.queue.brokerName, q.queue.queueId, q.brokerOffset, q.consumerOffset,
        Math.max(0, q.brokerOffset - q.consumerOffset), time(q.lastTimestamp)]);
      return {
        json: stats,
        text: formatTable(['#Topic', '#Broker Name', '#QID', '#Broker Offset', '#Consumer Offset', '#Diff', '#LastTime'], rows) +
          `\nConsume TPS: ${stats.consumeTps.toFixed(2)}\nDiff Total: ${stats.diffTotal}\n`,
      };
    }
    case 'queryMsgById': {
      const id = required(parsed, 'i', 'msgId');
      const topic = parsed.options.get('t');
      const found = topic !== undefined ? await admin.queryMessageByUniqKey(topic, id) : [await admin.viewMessage(id)];
      if (found.length === 0) throw new BolideError('NOT_FOUND', `no message ${id}${topic === undefined ? '' : ` in topic ${topic}`}`);
      const details = found.map(messageDetail);
      return { json: details, text: details.map((d) => formatPairs(Object.entries(d).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]))).join('\n') };
    }
    case 'queryMsgByKey': {
      const topic = required(parsed, 't', 'topic');
      const key = required(parsed, 'k', 'key');
      const found = await admin.queryMessageByKey(topic, key);
      return {
        json: found.map(messageDetail),
        text: formatTable(['#Message ID', '#Offset Msg ID', '#QID', '#Offset'], found.map((m) => [m.msgId, m.offsetMsgId, m.queueId, m.queueOffset])),
      };
    }
    case 'resetOffsetByTime': {
      const group = required(parsed, 'g', 'group');
      const topic = required(parsed, 't', 'topic');
      const timestamp = parseAdminTime(required(parsed, 's', 'time'));
      const reset = await admin.resetOffsetByTimestamp(group, topic, timestamp);
      return {
        json: { group, topic, timestamp, offsets: reset },
        text: formatTable(['#Broker Name', '#QID', '#Offset'], reset.map((r) => [r.queue.brokerName, r.queue.queueId, r.offset])),
      };
    }
    case 'brokerStatus': {
      const table = await admin.brokerRuntimeInfo(required(parsed, 'b', 'brokerAddr'));
      return { json: table, text: formatPairs(Object.entries(table).sort(([a], [b]) => a.localeCompare(b))) };
    }
    default:
      throw new AdminUsageError(`unknown admin command ${JSON.stringify(parsed.command)}`);
  }
}

/** Runs one admin command, writing to stdout/stderr. Returns the exit status. */
export async function runAdmin(args: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(args);
  } catch (error) {
    err.write(`bolide admin: ${errorMessage(error)}\n\n${ADMIN_USAGE}`);
    return 2;
  }
  const namesrvAddr = parsed.options.get('n') ?? process.env['NAMESRV_ADDR'];
  if (namesrvAddr === undefined) {
    err.write(`bolide admin: -n <namesrv> (or NAMESRV_ADDR) is required\n\n${ADMIN_USAGE}`);
    return 2;
  }
  const admin = new Admin({ namesrvAddr, logger: silentLogger });
  try {
    await admin.start();
    const output = await execute(admin, parsed);
    out.write(parsed.json ? `${JSON.stringify(output.json, null, 2)}\n` : output.text);
    return 0;
  } catch (error) {
    if (error instanceof AdminUsageError) {
      err.write(`bolide admin: ${error.message}\n\n${ADMIN_USAGE}`);
      return 2;
    }
    const code = error instanceof BolideError ? ` [${error.code}]` : '';
    err.write(`bolide admin ${parsed.command} failed${code}: ${errorMessage(error)}\n`);
    return 1;
  } finally {
    await admin.shutdown().catch(() => undefined);
  }
}

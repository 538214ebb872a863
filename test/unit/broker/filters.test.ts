// Tag and SQL92 filtering through the broker's pull path, in-process: the case table of
// test/support/filter-cases.ts (one test per group), the switch that turns SQL92 off,
// CHECK_CLIENT_CONFIG, subscriptions registered by heartbeat, the scan bound of an SQL92 pull,
// and tag-hash collisions (the broker filters by hash; clients re-check the tag).
import test, { type ExecutionContext } from 'ava';
import {
  RequestCode, ResponseCode, decodeStoredMessages, encodeBatch, encodeHeartbeatData, makeRequest,
  type RemotingCommand, type SubscriptionData,
} from '../../../ts/protocol/index.js';
import { ConsumerFilterCache } from '../../../ts/broker/consumer-filter-cache.js';
import { SQL_SCAN_MAX_ENTRIES } from '../../../ts/broker/sql-pull.js';
import { parseSubscription, tagMatches } from '../../../ts/sdk/subscription.js';
import { FILTER_CASE_GROUPS, FILTER_MESSAGES, storedProperties } from '../../support/filter-cases.js';
import { pullRequest, sendRequest, startCluster, type TestCluster } from '../../support/broker.js';

async function sendAll(t: ExecutionContext, cluster: TestCluster, topic: string,
  messages: ReadonlyArray<{ body: string; properties: Record<string, string> }>): Promise<void> {
  for (const message of messages) {
    const response = await cluster.client.invoke(cluster.brokerAddr,
      sendRequest({ topic, body: message.body, properties: message.properties }));
    t.is(response.code, ResponseCode.SUCCESS, response.remark);
  }
  cluster.broker.store.waitDispatched();
}

interface PullAllResult {
  bodies: string[];
  failure?: RemotingCommand;
  pulls: number;
}

/** Pulls queue 0 from offset 0 to the end, following nextBeginOffset like a client. */
async function pullAll(cluster: TestCluster, topic: string, subscription: string, expressionType: string,
  extra: { group?: string; sysFlag?: number; subVersion?: number; maxMsgNums?: number } = {}): Promise<PullAllResult> {
  const bodies: string[] = [];
  let offset = 0;
  for (let pulls = 1; pulls < 1000; pulls += 1) {
    const response = await cluster.client.invoke(cluster.brokerAddr, pullRequest({
      topic, queueOffset: offset, subscription, expressionType, ...extra,
    }));
    if (response.code === ResponseCode.PULL_NOT_FOUND) return { bodies, pulls };
    if (response.code !== ResponseCode.SUCCESS && response.code !== ResponseCode.PULL_RETRY_IMMEDIATELY) {
      return { bodies, failure: response, pulls };
    }
    if (response.code === ResponseCode.SUCCESS) {
      for (const message of decodeStoredMessages(response.body ?? Buffer.alloc(0))) bodies.push(message.body.toString());
    }
    offset = Number(response.extFields['nextBeginOffset']);
  }
  throw new Error('pull loop did not reach the end of the queue');
}

const TABLE_TOPIC = 'FilterTable';

/** A broker holding the table's messages (one per test: a cluster lives as long as its test). */
async function tableCluster(t: ExecutionContext): Promise<TestCluster> {
  const cluster = await startCluster(t, { enablePropertyFilter: true });
  await sendAll(t, cluster, TABLE_TOPIC, FILTER_MESSAGES.map((m) => ({ body: String(m.seq), properties: storedProperties(m) })));
  return cluster;
}

for (const group of FILTER_CASE_GROUPS) {
  test(`pull filtered by the broker: ${group.name}`, async (t) => {
    const cluster = await tableCluster(t);
    for (const c of group.cases) {
      const result = await pullAll(cluster, TABLE_TOPIC, c.expression, c.type);
      if (Array.isArray(c.expect)) {
        t.is(result.failure, undefined, `${c.id}: ${result.failure?.remark}`);
        t.deepEqual(result.bodies.map(Number), c.expect, `${c.id}: ${c.expression}`);
      } else {
        t.is(result.failure?.code, ResponseCode.SUBSCRIPTION_PARSE_FAILED, c.id);
        t.true(result.failure?.remark?.includes(`at line ${c.expect.error.line}, column ${c.expect.error.column}`),
          `${c.id}: ${result.failure?.remark}`);
      }
    }
  });
}

test('SQL92 pulls of one message at a time deliver the same selection, in order, each message once', async (t) => {
  const cluster = await tableCluster(t);
  for (const c of FILTER_CASE_GROUPS.flatMap((g) => g.cases).filter((x) => x.type === 'SQL92' && Array.isArray(x.expect))) {
    const one = await pullAll(cluster, TABLE_TOPIC, c.expression, 'SQL92', { maxMsgNums: 1 });
    t.deepEqual(one.bodies.map(Number), c.expect, c.id);
  }
});

test('SQL92 pulls fail with SYSTEM_ERROR when enablePropertyFilter is off (the default), TAG pulls work', async (t) => {
  const cluster = await startCluster(t);
  await sendAll(t, cluster, 'NoSql', [{ body: '0', properties: { a: '1', TAGS: 'TagA' } }]);
  const sql = await pullAll(cluster, 'NoSql', "a = '1'", 'SQL92');
  t.is(sql.failure?.code, ResponseCode.SYSTEM_ERROR);
  t.is(sql.failure?.remark, 'The broker does not support consumer to filter message by SQL92');
  t.deepEqual((await pullAll(cluster, 'NoSql', 'TagA', 'TAG')).bodies, ['0']);
});

function checkClientConfig(subscription: Partial<SubscriptionData> | null): RemotingCommand {
  const body = {
    clientId: '127.0.0.1@test', group: 'check-group',
    subscriptionData: subscription === null ? null : {
      topic: 'T', subString: '*', expressionType: 'TAG', tagsSet: [], codeSet: [], subVersion: 1, classFilterMode: false,
      ...subscription,
    },
  };
  return makeRequest(RequestCode.CHECK_CLIENT_CONFIG, { body: Buffer.from(JSON.stringify(body)) });
}

test('CHECK_CLIENT_CONFIG accepts TAG and valid SQL92, refuses bad SQL92 with the position, and SQL92 when disabled', async (t) => {
  const on = await startCluster(t, { enablePropertyFilter: true });
  const ask = (c: TestCluster, s: Partial<SubscriptionData> | null): Promise<RemotingCommand> =>
    c.client.invoke(c.brokerAddr, checkClientConfig(s));
  t.is((await ask(on, null)).code, ResponseCode.SUCCESS);
  t.is((await ask(on, { subString: 'TagA || TagB' })).code, ResponseCode.SUCCESS);
  t.is((await ask(on, { subString: "a BETWEEN 1 AND 3 AND b IN ('x')", expressionType: 'SQL92' })).code,
    ResponseCode.SUCCESS);
  const bad = await ask(on, { subString: 'a > ', expressionType: 'SQL92' });
  t.is(bad.code, ResponseCode.SUBSCRIPTION_PARSE_FAILED);
  t.regex(bad.remark ?? '', /at line 1, column 4/);
  const garbage = await on.client.invoke(on.brokerAddr,
    makeRequest(RequestCode.CHECK_CLIENT_CONFIG, { body: Buffer.from('{not json') }));
  t.not(garbage.code, ResponseCode.SUCCESS, 'a malformed body is answered with an error, not a crash');
  t.is((await ask(on, null)).code, ResponseCode.SUCCESS, 'the broker still answers');

  const off = await startCluster(t);
  const refused = await ask(off, { subString: "a = '1'", expressionType: 'SQL92' });
  t.is(refused.code, ResponseCode.SYSTEM_ERROR);
  t.is(refused.remark, 'The broker does not support consumer to filter message by SQL92');
});

function sqlHeartbeat(group: string, topic: string, expression: string, subVersion: number): RemotingCommand {
  return makeRequest(RequestCode.HEART_BEAT, {
    body: encodeHeartbeatData({
      clientID: '127.0.0.1@filters', heartbeatFingerprint: 0, withoutSub: false, producerDataSet: [],
      consumerDataSet: [{
        groupName: group, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING',
        consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', unitMode: false,
        subscriptionDataSet: [{
          topic, subString: expression, expressionType: 'SQL92', tagsSet: [], codeSet: [], subVersion, classFilterMode: false,
        }],
      }],
    }),
  });
}

test('a pull without the SUBSCRIPTION flag uses the SQL92 subscription registered by heartbeat; a bad one fails the pull', async (t) => {
  const cluster = await startCluster(t, { enablePropertyFilter: true });
  await sendAll(t, cluster, 'Registered', [
    { body: '0', properties: { a: '1' } }, { body: '1', properties: { a: '2' } }, { body: '2', properties: { a: '3' } },
  ]);
  t.is((await cluster.client.invoke(cluster.brokerAddr, sqlHeartbeat('g-good', 'Registered', 'a >= 2', 1))).code,
    ResponseCode.SUCCESS);
  const good = await pullAll(cluster, 'Registered', 'ignored', 'SQL92', { group: 'g-good', sysFlag: 0, subVersion: 1 });
  t.deepEqual(good.bodies, ['1', '2']);

  const heartbeat = await cluster.client.invoke(cluster.brokerAddr, sqlHeartbeat('g-bad', 'Registered', 'a >= ', 1));
  t.is(heartbeat.code, ResponseCode.SUCCESS, 'like RocketMQ, the heartbeat registers the group anyway');
  const bad = await pullAll(cluster, 'Registered', 'ignored', 'SQL92', { group: 'g-bad', sysFlag: 0, subVersion: 1 });
  t.is(bad.failure?.code, ResponseCode.SUBSCRIPTION_PARSE_FAILED);
  t.regex(bad.failure?.remark ?? '', /at line 1, column 5/);
});

test('selectors compile once per group, topic and subscription version; a bad one is cached as its error', (t) => {
  const cache = new ConsumerFilterCache(3);
  const sub = (subString: string, subVersion: number): SubscriptionData => ({
    topic: 'T', subString, expressionType: 'SQL92', tagsSet: [], codeSet: [], subVersion, classFilterMode: false,
  });
  const first = cache.get('g', sub("a = '1'", 1));
  for (let i = 0; i < 100; i += 1) t.is(cache.get('g', sub("a = '1'", 1)), first);
  t.is(cache.compilations, 1);
  cache.get('g', sub("a = '1'", 2));
  cache.get('other', sub("a = '1'", 1));
  t.is(cache.compilations, 3);
  const bad = cache.get('g', sub('a =', 3));
  t.true(bad instanceof Error);
  t.is(cache.get('g', sub('a =', 3)), bad);
  t.is(cache.compilations, 4);
  t.is(cache.size, 3, 'bounded: the oldest entry left');
});

test(`an SQL92 pull scans at most ${SQL_SCAN_MAX_ENTRIES} entries, answers PULL_RETRY_IMMEDIATELY with the offset reached, then finds the match`, async (t) => {
  const cluster = await startCluster(t, { enablePropertyFilter: true });
  const topic = 'SparseMatch';
  const filler = SQL_SCAN_MAX_ENTRIES + 100;
  for (let start = 0; start < filler; start += 100) {
    const batch = encodeBatch(Array.from({ length: 100 }, (_, i) => ({
      flag: 0, body: Buffer.from(`f${start + i}`), properties: { kind: 'filler' },
    })));
    const response = await cluster.client.invoke(cluster.brokerAddr,
      sendRequest({ topic, code: RequestCode.SEND_BATCH_MESSAGE, body: batch }));
    t.is(response.code, ResponseCode.SUCCESS, response.remark);
  }
  await sendAll(t, cluster, topic, [{ body: 'wanted', properties: { kind: 'wanted' } }]);
  const first = await cluster.client.invoke(cluster.brokerAddr, pullRequest({
    topic, queueOffset: 0, subscription: "kind = 'wanted'", expressionType: 'SQL92',
  }));
  t.is(first.code, ResponseCode.PULL_RETRY_IMMEDIATELY);
  t.is(first.extFields['nextBeginOffset'], String(SQL_SCAN_MAX_ENTRIES));
  const all = await pullAll(cluster, topic, "kind = 'wanted'", 'SQL92');
  t.deepEqual(all.bodies, ['wanted']);
});

test('tag filtering is by hash on the broker, so colliding tags pass it; the SDK re-check drops them', async (t) => {
  // "Aa" and "BB" have the same Java String.hashCode (2112).
  const cluster = await startCluster(t);
  await sendAll(t, cluster, 'Collide', [
    { body: 'Aa', properties: { TAGS: 'Aa' } }, { body: 'BB', properties: { TAGS: 'BB' } }, { body: 'Cc', properties: { TAGS: 'Cc' } },
  ]);
  const pulled = await pullAll(cluster, 'Collide', 'Aa', 'TAG');
  t.deepEqual(pulled.bodies, ['Aa', 'BB']);
  const subscription = parseSubscription('Collide', 'Aa');
  t.deepEqual(pulled.bodies.filter((tag) => tagMatches(subscription, tag)), ['Aa']);
  t.deepEqual((await pullAll(cluster, 'Collide', 'Cc || Aa', 'TAG')).bodies, ['Aa', 'BB', 'Cc']);
});

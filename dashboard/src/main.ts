// The Bolide dashboard: cluster, live produce/consume chart, topics with TPS sparklines,
// consumer groups with lag per queue, message lookup. Everything polls the gateway's JSON API
// every REFRESH_MS; lists are paged and filtered by the server.
import './style.css';
import { ApiError, getJson, query, type Cluster, type GroupDetail, type GroupRow, type Message, type Stats, type TopicRow } from './api.js';
import { lineChart, perSecond, sparkline } from './charts.js';
import { byId, el, formatCount, formatDuration, formatRate } from './dom.js';
import { PagedList } from './paged-list.js';

const REFRESH_MS = 2000;
const PAGE_SIZE = 50;

let visibleTopics: string[] = [];
let selectedGroup: string | undefined;

function showError(target: HTMLElement, error: unknown): void {
  target.replaceChildren(el('p', { class: 'error' }, error instanceof ApiError ? `${error.code}: ${error.message}` : String(error)));
}

async function refreshCluster(): Promise<void> {
  const c = await getJson<Cluster>('/api/cluster');
  byId('cluster').replaceChildren(el('table', { class: 'brokers' },
    el('thead', {}, el('tr', {}, ...['cluster', 'broker', 'id', 'role', 'address', 'gateway', 'flush', 'uptime', 'commit log', 'put TPS (10s 1m 10m)', 'get TPS'].map((h) => el('th', {}, h)))),
    el('tbody', {}, el('tr', { 'data-testid': 'broker-row' }, ...[
      c.clusterName, c.brokerName, String(c.brokerId), c.brokerRole, c.brokerAddr, c.gateway, c.flushDiskType,
      formatDuration(c.uptimeMs), `${formatCount(c.commitLog.maxOffset)} B`, c.putTps, c.getTps,
    ].map((v) => el('td', {}, v))))));
}

const topicRows = new Map<string, { sparkCell: HTMLElement; nowCell: HTMLElement }>();

const topics = new PagedList<TopicRow>({
  id: 'topics', endpoint: '/api/topics', pageSize: PAGE_SIZE,
  render(items, body) {
    topicRows.clear();
    body.replaceChildren(...items.map((t) => {
      const sparkCell = el('td', { class: 'spark' });
      const nowCell = el('td', { class: 'num' });
      topicRows.set(t.topic, { sparkCell, nowCell });
      const name = el('a', { href: '#', 'data-testid': 'topic-name' }, t.topic);
      name.addEventListener('click', (event) => {
        event.preventDefault();
        byId<HTMLInputElement>('lookup-topic').value = t.topic;
        byId<HTMLInputElement>('lookup-value').focus();
      });
      return el('tr', { 'data-topic': t.topic },
        el('td', {}, name), el('td', { class: 'num' }, `${t.readQueueNums}/${t.writeQueueNums}`),
        el('td', { class: 'num', 'data-testid': 'topic-messages' }, formatCount(t.messages)), sparkCell, nowCell);
    }));
    if (items.length === 0) body.replaceChildren(el('tr', {}, el('td', { colspan: '5', class: 'muted' }, 'no topics match')));
  },
  loaded(items) {
    visibleTopics = items.map((t) => t.topic);
  },
});

const groups = new PagedList<GroupRow>({
  id: 'groups', endpoint: '/api/groups', pageSize: PAGE_SIZE,
  render(items, body) {
    body.replaceChildren(...items.map((g) => {
      const name = el('a', { href: '#', 'data-testid': 'group-name' }, g.group);
      name.addEventListener('click', (event) => {
        event.preventDefault();
        selectedGroup = g.group;
        void refreshGroupDetail();
      });
      return el('tr', { 'data-group': g.group },
        el('td', {}, name), el('td', { class: 'num' }, String(g.clients)), el('td', {}, g.topics.join(', ')),
        el('td', { class: 'num' }, formatCount(g.lag)), el('td', { class: 'num' }, formatRate(g.consumeTps)));
    }));
    if (items.length === 0) body.replaceChildren(el('tr', {}, el('td', { colspan: '5', class: 'muted' }, 'no groups match')));
  },
});

async function refreshGroupDetail(): Promise<void> {
  const target = byId('group-detail');
  if (selectedGroup === undefined) return;
  try {
    const g = await getJson<GroupDetail>(`/api/groups/${encodeURIComponent(selectedGroup)}`);
    target.replaceChildren(
      el('h3', {}, `${g.group}: lag ${formatCount(g.lag)}, ${g.clients} client(s)`),
      el('table', {},
        el('thead', {}, el('tr', {}, ...['topic', 'queue', 'broker offset', 'consumer offset', 'lag'].map((h) => el('th', {}, h)))),
        el('tbody', {}, ...g.queues.map((q) => el('tr', {}, el('td', {}, q.topic), el('td', { class: 'num' }, String(q.queueId)),
          el('td', { class: 'num' }, formatCount(q.brokerOffset)), el('td', { class: 'num' }, formatCount(q.consumerOffset)),
          el('td', { class: 'num', 'data-testid': 'queue-lag' }, formatCount(q.lag))))),
      ),
    );
  } catch (error) {
    showError(target, error);
  }
}

async function refreshStats(): Promise<void> {
  const wanted = visibleTopics.join(',');
  const stats = await getJson<Stats>(`/api/stats?${query({ topics: wanted })}`);
  const put = perSecond(stats.put, stats.intervalMs);
  const got = perSecond(stats.get, stats.intervalMs);
  lineChart(byId<HTMLCanvasElement>('live-chart'), [{ values: put, color: '#2b7de9' }, { values: got, color: '#e9822b' }]);
  byId('live-now').textContent = `now: ${formatRate(put.at(-1) ?? 0)}/s in, ${formatRate(got.at(-1) ?? 0)}/s out`;
  for (const [topic, counts] of Object.entries(stats.topics)) {
    const row = topicRows.get(topic);
    if (row === undefined) continue;
    const rates = perSecond(counts, stats.intervalMs);
    row.sparkCell.replaceChildren(sparkline(rates));
    row.nowCell.textContent = `${formatRate(rates.at(-1) ?? 0)}/s`;
  }
}

function renderMessages(messages: Message[]): HTMLElement {
  if (messages.length === 0) return el('p', { class: 'muted', 'data-testid': 'lookup-empty' }, 'no message found');
  return el('table', {},
    el('thead', {}, el('tr', {}, ...['msgId', 'queue', 'offset', 'tags', 'keys', 'stored', 'body'].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...messages.map((m) => el('tr', { 'data-testid': 'lookup-row' },
      el('td', { class: 'mono' }, m.msgId), el('td', { class: 'num' }, String(m.queueId)), el('td', { class: 'num' }, String(m.queueOffset)),
      el('td', {}, m.tags ?? ''), el('td', {}, m.keys.join(' ')), el('td', {}, new Date(m.storeTimestamp).toISOString()),
      el('td', { class: 'mono body', 'data-testid': 'lookup-body' }, m.bodyEncoding === 'utf8' ? m.body : `(base64) ${m.body}`)))));
}

async function lookup(): Promise<void> {
  const target = byId('lookup-result');
  const topic = byId<HTMLInputElement>('lookup-topic').value.trim();
  const value = byId<HTMLInputElement>('lookup-value').value.trim();
  const kind = byId<HTMLSelectElement>('lookup-kind').value;
  if (value === '' || (kind === 'key' && topic === '')) {
    target.replaceChildren(el('p', { class: 'error' }, kind === 'key' ? 'give a topic and a key' : 'give a message id'));
    return;
  }
  target.replaceChildren(el('p', { class: 'muted' }, 'searching…'));
  try {
    const messages = kind === 'key'
      ? (await getJson<{ messages: Message[] }>(`/api/messages?${query({ topic, key: value })}`)).messages
      : [await getJson<Message>(`/api/messages/${encodeURIComponent(value)}?${query({ topic })}`)];
    target.replaceChildren(renderMessages(messages));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) target.replaceChildren(renderMessages([]));
    else showError(target, error);
  }
}

byId('lookup-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void lookup();
});

async function tick(): Promise<void> {
  const results = await Promise.allSettled([refreshCluster(), topics.refresh(), groups.refresh(), refreshGroupDetail()]);
  await refreshStats().catch(() => undefined);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  byId('status').textContent = failed === undefined ? `updated ${new Date().toLocaleTimeString()}` : `refresh failed: ${String(failed.reason)}`;
  document.body.dataset['loaded'] = 'true';
}

void tick();
// A tab in the background does not poll: every poll costs the broker a sort of the topic names.
window.setInterval(() => {
  if (!document.hidden) void tick();
}, REFRESH_MS);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) void tick();
});

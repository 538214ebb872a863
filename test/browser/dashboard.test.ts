// The dashboard in a real browser (headless Chromium) against a real Bolide process: the page
// loads, lists a topic created after it opened, shows its message count rising while messages are
// produced, finds a message by key, shows a group's lag per queue; and with 10,000 topics and
// 2,000 groups it still renders one page and filters on the server.
//
// Waits are deadlines for the page's 2 s polling to catch up, never performance thresholds.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { Page } from 'playwright-core';
import { newTopicConfig } from '../../ts/broker/topic-config-manager.js';
import { topicConfigToJson } from '../../ts/protocol/namesrv-bodies.js';
import { Admin, Producer, PushConsumer, silentLogger } from '../../ts/sdk/index.js';
import { startBolideProcess, type BolideProcess } from '../support/bolide-process.js';
import { chromiumAvailability, CHROMIUM_PATH, launchChromium, type Browser } from './chromium.js';

const WAIT_MS = 30_000;
const { available, required } = chromiumAvailability();
let scenariosRun = 0;

if (!available && required) {
  test('Chromium is installed (CI=true: browser tests may not be skipped)', (t) => {
    t.fail(`no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`);
  });
} else if (!available) {
  console.warn(`dashboard browser tests skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium); under CI=true this fails`);
}

/** A browser scenario: runs serially (2-core machines), skipped visibly without Chromium outside CI. */
const scenario = available ? test.serial : test.skip;

let bolide: BolideProcess | undefined;
let big: BolideProcess | undefined;
let browser: Browser | undefined;

const TOPICS = 10_000;
const GROUPS = 2_000;
const topicName = (i: number): string => `Bulk${String(i).padStart(5, '0')}`;
const groupName = (i: number): string => `bulk-group-${String(i).padStart(4, '0')}`;

/** Writes topics.json and subscriptionGroup.json as the broker persists them: 10,000 topics cost one file. */
async function writeBulkConfig(storeDir: string): Promise<void> {
  const configDir = path.join(storeDir, 'config');
  await mkdir(configDir, { recursive: true });
  const topicConfigTable: Record<string, unknown> = {};
  for (let i = 0; i < TOPICS; i += 1) topicConfigTable[topicName(i)] = topicConfigToJson(newTopicConfig(topicName(i), 4));
  const subscriptionGroupTable: Record<string, unknown> = {};
  for (let i = 0; i < GROUPS; i += 1) subscriptionGroupTable[groupName(i)] = { groupName: groupName(i) };
  const dataVersion = { timestamp: Date.now(), counter: 1 };
  await writeFile(path.join(configDir, 'topics.json'), JSON.stringify({ dataVersion, topicConfigTable }));
  await writeFile(path.join(configDir, 'subscriptionGroup.json'), JSON.stringify({ dataVersion, subscriptionGroupTable }));
}

test.before(async () => {
  if (!available) return;
  [bolide, big, browser] = await Promise.all([startBolideProcess(), startBolideProcess([], 120_000, writeBulkConfig), launchChromium()]);
});

test.after.always(async () => {
  await browser?.close();
  await Promise.all([bolide?.stop(), big?.stop()]);
  console.log(`dashboard browser suite: ${scenariosRun} scenario(s) ran in Chromium`);
});

async function openDashboard(gatewayAddr: string): Promise<Page> {
  const page = await browser!.context.newPage();
  await page.goto(`http://${gatewayAddr}/`);
  await page.waitForSelector('body[data-loaded="true"]', { timeout: WAIT_MS });
  return page;
}

/** The "messages" cell of a topic's row, as a number (NaN while the row is absent). */
async function messageCount(page: Page, topic: string): Promise<number> {
  const text = await page.locator(`tr[data-topic="${topic}"] [data-testid="topic-messages"]`).textContent({ timeout: WAIT_MS });
  return Number((text ?? '').replaceAll(',', ''));
}

/** Produces `count` messages over HTTP; resolves to their msgIds. */
async function produce(gatewayAddr: string, topic: string, count: number, key?: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const headers: Record<string, string> = key === undefined ? {} : { 'x-bolide-keys': key };
    const response = await fetch(`http://${gatewayAddr}/topics/${topic}/messages`, { method: 'POST', body: `body-${key ?? 'x'}-${i}`, headers });
    if (response.status !== 200) throw new Error(`produce answered ${response.status}: ${await response.text()}`);
    ids.push(((await response.json()) as { messages: Array<{ msgId: string }> }).messages[0]?.msgId ?? '');
  }
  return ids;
}

scenario('the page loads from the gateway and shows the cluster with its broker', async (t) => {
  scenariosRun += 1;
  const page = await openDashboard(bolide!.gatewayAddr!);
  try {
    const row = page.locator('[data-testid="broker-row"]');
    t.true((await row.textContent())?.includes(bolide!.brokerName));
    t.true((await row.textContent())?.includes(bolide!.brokerAddr));
    t.is(await page.locator('canvas[data-testid="live-chart"]').count(), 1);
  } finally {
    await page.close();
  }
});

scenario('a topic created after the page opened is listed, and its message count rises as messages are produced', async (t) => {
  scenariosRun += 1;
  const gateway = bolide!.gatewayAddr!;
  const page = await openDashboard(gateway);
  const topic = `DashLive${Date.now().toString(36)}`;
  const admin = new Admin({ namesrvAddr: bolide!.namesrvAddr, logger: silentLogger });
  await admin.start();
  try {
    await page.fill('[data-testid="topics-filter"]', topic);
    await admin.createTopic(topic, { queueNums: 2 });
    await page.waitForSelector(`tr[data-topic="${topic}"]`, { timeout: WAIT_MS });
    t.is(await messageCount(page, topic), 0);

    await produce(gateway, topic, 5);
    await waitForText(page, `tr[data-topic="${topic}"] [data-testid="topic-messages"]`, (text) => text === '5');
    await produce(gateway, topic, 7);
    await waitForText(page, `tr[data-topic="${topic}"] [data-testid="topic-messages"]`, (text) => text === '12');
    t.is(await messageCount(page, topic), 12);

    // The TPS sparkline shows the traffic once it was sampled (2 s): its line is no longer flat.
    await retryUntil(async () => {
      const points = await page.locator(`tr[data-topic="${topic}"] svg.sparkline polyline`).getAttribute('points', { timeout: WAIT_MS });
      const heights = new Set((points ?? '').split(' ').map((point) => point.split(',')[1]));
      return heights.size > 1;
    });
    t.is(await page.locator(`tr[data-topic="${topic}"] svg.sparkline`).count(), 1);
  } finally {
    await admin.shutdown();
    await page.close();
  }
});

scenario('a message is found by its key and by its id through the lookup form, and an unknown key finds nothing', async (t) => {
  scenariosRun += 1;
  const gateway = bolide!.gatewayAddr!;
  const topic = `DashKey${Date.now().toString(36)}`;
  await produce(gateway, topic, 3);
  const [keyedId] = await produce(gateway, topic, 1, 'order-4711');
  const page = await openDashboard(gateway);
  try {
    await page.fill('[data-testid="lookup-topic"]', topic);
    await page.selectOption('[data-testid="lookup-kind"]', 'key');
    await page.fill('[data-testid="lookup-value"]', 'order-4711');
    // The index is built by the dispatcher shortly after the append: retry until it answers.
    await t.notThrowsAsync(retryUntil(async () => {
      await page.click('[data-testid="lookup-submit"]');
      await page.waitForSelector('[data-testid="lookup-row"], [data-testid="lookup-empty"], #lookup-result .error', { timeout: WAIT_MS });
      return (await page.locator('[data-testid="lookup-row"]').count()) > 0;
    }));
    t.is(await page.locator('[data-testid="lookup-row"]').count(), 1);
    t.is(await page.locator('[data-testid="lookup-body"]').textContent(), 'body-order-4711-0');

    await page.selectOption('[data-testid="lookup-kind"]', 'id');
    await page.fill('[data-testid="lookup-value"]', keyedId ?? '');
    await page.click('[data-testid="lookup-submit"]');
    await waitForText(page, '#lookup-result', (text) => text.includes(keyedId ?? '(none)'));
    t.is(await page.locator('[data-testid="lookup-body"]').textContent(), 'body-order-4711-0');

    await page.selectOption('[data-testid="lookup-kind"]', 'key');
    await page.fill('[data-testid="lookup-value"]', 'no-such-key');
    await page.click('[data-testid="lookup-submit"]');
    await page.waitForSelector('[data-testid="lookup-empty"]', { timeout: WAIT_MS });
    t.is(await page.locator('[data-testid="lookup-row"]').count(), 0);
  } finally {
    await page.close();
  }
});

scenario('a consumer group is listed with its lag per queue after messages arrive that it has not consumed', async (t) => {
  scenariosRun += 1;
  const gateway = bolide!.gatewayAddr!;
  const topic = `DashLag${Date.now().toString(36)}`;
  const group = `dash-lag-${Date.now().toString(36)}`;
  const producer = new Producer({ groupName: 'dash-pg', namesrvAddr: bolide!.namesrvAddr, logger: silentLogger });
  await producer.start();
  const consumer = new PushConsumer({ groupName: group, namesrvAddr: bolide!.namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', logger: silentLogger });
  try {
    for (let i = 0; i < 4; i += 1) await producer.send({ topic, body: Buffer.from(`before-${i}`) });
    let received = 0;
    consumer.subscribe(topic, '*');
    consumer.onMessage((messages) => { received += messages.length; });
    await consumer.start();
    await retryUntil(async () => received >= 4);
  } finally {
    await consumer.shutdown();
  }
  try {
    for (let i = 0; i < 6; i += 1) await producer.send({ topic, body: Buffer.from(`after-${i}`) });
  } finally {
    await producer.shutdown();
  }
  const page = await openDashboard(gateway);
  try {
    await page.fill('[data-testid="groups-filter"]', group);
    await page.waitForSelector(`tr[data-group="${group}"]`, { timeout: WAIT_MS });
    await page.click(`tr[data-group="${group}"] [data-testid="group-name"]`);
    await retryUntil(async () => {
      const lags = await page.locator('[data-testid="queue-lag"]').allTextContents();
      return lags.length > 0 && lags.reduce((sum, lag) => sum + Number(lag), 0) === 6;
    });
    t.true((await page.locator('[data-testid="group-detail"] h3').textContent())?.includes('lag 6'));
  } finally {
    await page.close();
  }
});

scenario('with 10,000 topics and 2,000 groups the page shows one page of each and the server-side filter finds one by name', async (t) => {
  scenariosRun += 1;
  const page = await openDashboard(big!.gatewayAddr!);
  try {
    t.is(await page.locator('[data-testid="topics-body"] tr').count(), 50);
    t.is(await page.locator('[data-testid="groups-body"] tr').count(), 50);
    t.regex((await page.locator('[data-testid="topics-range"]').textContent()) ?? '', /^1–50 of 10,0\d\d$/);
    t.regex((await page.locator('[data-testid="groups-range"]').textContent()) ?? '', /^1–50 of 2,0\d\d$/);

    await page.fill('[data-testid="topics-filter"]', topicName(7321));
    await waitForText(page, '[data-testid="topics-range"]', (text) => text === '1–1 of 1');
    t.deepEqual(await page.locator('[data-testid="topics-body"] tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-topic'))), [topicName(7321)]);

    await page.fill('[data-testid="groups-filter"]', groupName(1999));
    await waitForText(page, '[data-testid="groups-range"]', (text) => text === '1–1 of 1');
    t.is(await page.locator(`tr[data-group="${groupName(1999)}"]`).count(), 1);

    // Paging moves through the filtered set: "Bulk09" matches Bulk09000..Bulk09999.
    await page.fill('[data-testid="topics-filter"]', 'Bulk09');
    await waitForText(page, '[data-testid="topics-range"]', (text) => text === '1–50 of 1,000');
    await page.click('[data-testid="topics-next"]');
    await waitForText(page, '[data-testid="topics-range"]', (text) => text === '51–100 of 1,000');
    t.is(await page.locator('[data-testid="topics-body"] tr').first().getAttribute('data-topic'), topicName(9050));
  } finally {
    await page.close();
  }
});

/** Waits until the element's text satisfies `accept` (the page re-renders every 2 s). */
async function waitForText(page: Page, selector: string, accept: (text: string) => boolean): Promise<void> {
  await retryUntil(async () => accept((await page.locator(selector).first().textContent({ timeout: WAIT_MS })) ?? ''));
}

/** Re-runs `check` every 200 ms until it returns true; throws after WAIT_MS. */
async function retryUntil(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

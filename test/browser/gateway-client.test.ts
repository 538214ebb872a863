// The SDK's GatewayClient as a browser bundle (esbuild, platform browser) in headless Chromium
// against a real Bolide process: it produces through the gateway's WebSocket and consumes what
// it produced, with the browser's own WebSocket and no Node module in the bundle.
import test from 'ava';
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBolideProcess, type BolideProcess } from '../support/bolide-process.js';
import { chromiumAvailability, CHROMIUM_PATH, launchChromium, type Browser } from './chromium.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const { available, required } = chromiumAvailability();
let scenariosRun = 0;

if (!available && required) {
  test('Chromium is installed (CI=true: browser tests may not be skipped)', (t) => {
    t.fail(`no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`);
  });
} else if (!available) {
  console.warn(`GatewayClient browser test skipped: no Chromium at ${CHROMIUM_PATH}; under CI=true this fails`);
}
const scenario = available ? test.serial : test.skip;

let bolide: BolideProcess | undefined;
let browser: Browser | undefined;

test.before(async () => {
  if (!available) return;
  bolide = await startBolideProcess();
  browser = await launchChromium();
});

test.after.always(async () => {
  await browser?.close();
  await bolide?.stop();
  console.log(`GatewayClient browser suite: ${scenariosRun} scenario(s) ran in Chromium`);
});

/** The bundle a web page would load: GatewayClient and its FlatBuffers frames, nothing from Node. */
async function bundle(): Promise<string> {
  const result = await build({
    stdin: {
      contents: "export { GatewayClient } from './ts/sdk/gateway-client.ts';",
      resolveDir: repoRoot, sourcefile: 'entry.ts', loader: 'ts',
    },
    bundle: true, format: 'iife', globalName: 'Bolide', platform: 'browser', write: false,
    // Loaded only when there is no global WebSocket (Node): never in a browser.
    external: ['ws'],
  });
  return result.outputFiles[0]!.text;
}

scenario('a browser bundle of GatewayClient produces and consumes through the gateway WebSocket', async (t) => {
  const code = await bundle();
  t.false(/require\(["']node:|from ["']node:/.test(code), 'no Node built-in in the bundle');
  const page = await browser!.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`http://${bolide!.gatewayAddr}/healthz`);
  await page.addScriptTag({ content: code });
  const topic = `Browser${Date.now().toString(36)}`;
  const result = await page.evaluate(async ({ url, topic: name }) => {
    const { GatewayClient } = (globalThis as unknown as { Bolide: typeof import('../../ts/sdk/gateway-client.js') }).Bolide;
    const client = await GatewayClient.connect({ url });
    const sent = [];
    for (let i = 0; i < 5; i += 1) sent.push(await client.send({ topic: name, body: `from the browser ${i}`, tags: 'Web', properties: { i: String(i) } }));
    const received: Array<{ body: string; tags: string | undefined; i: string | undefined; msgId: string }> = [];
    const subscription = await client.subscribe({ group: `browser-${name}`, topic: name, window: 4 }, (message) => {
      received.push({ body: new TextDecoder().decode(message.body), tags: message.tags, i: message.properties['i'], msgId: message.msgId });
    });
    const deadline = Date.now() + 20_000;
    while (received.length < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await subscription.close();
    await client.close();
    return { sent: sent.map((s) => ({ msgId: s.msgId, status: s.sendStatus })), received };
  }, { url: `ws://${bolide!.gatewayAddr}/ws`, topic });
  t.deepEqual(errors, []);
  t.true(result.sent.every((s) => s.status === 'SEND_OK'));
  t.is(result.received.length, 5);
  t.deepEqual(result.received.map((m) => m.msgId).sort(), result.sent.map((s) => s.msgId).sort());
  for (const m of result.received) {
    t.is(m.body, `from the browser ${m.i}`);
    t.is(m.tags, 'Web');
  }
  await page.close();
  scenariosRun += 1;
});

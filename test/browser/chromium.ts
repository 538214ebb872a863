// Headless Chromium for browser tests: Debian's /usr/bin/chromium (package `chromium`, installed
// by .ci/run) driven by playwright-core, with a fresh profile per launch. The networking flags
// matter on an offline machine: without them Chromium keeps trying Google's services and stalls.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Whether browser tests can run here; under CI=true a missing Chromium must fail, not skip. */
export function chromiumAvailability(): { available: boolean; required: boolean } {
  return { available: existsSync(CHROMIUM_PATH), required: process.env['CI'] === 'true' };
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches Chromium with a new, empty --user-data-dir (removed on close). */
export async function launchChromium(): Promise<Browser> {
  const profile = await mkdtemp(path.join(tmpdir(), 'bolide-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS,
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

// The dashboard's built files (dashboard/build, made by Vite and committed), read once at start
// and served from memory: no file system access per request, and a broker that serves the page
// even if its install directory changes underneath it.
//
// Caching: Vite puts content-hashed names under assets/, so those are immutable for a year;
// index.html (whose name never changes) is revalidated on every load with its ETag.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StaticAsset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly cacheControl: string;
  readonly etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const REVALIDATE = 'no-cache';

/** The directory of the built dashboard: dashboard/build at the package root, found from this module (ts/gateway or dist/ts/gateway). */
export function defaultDashboardDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i += 1) {
    const candidate = join(dir, 'dashboard', 'build');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

function walk(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...walk(path));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

/** Every file under `dir`, keyed by URL path ("/index.html", "/assets/index-abc123.js"). */
export class StaticAssets {
  readonly #files = new Map<string, StaticAsset>();

  constructor(dir: string | undefined) {
    if (dir === undefined || !existsSync(dir) || !statSync(dir).isDirectory()) return;
    for (const path of walk(dir)) {
      const urlPath = `/${relative(dir, path).split(sep).join('/')}`;
      const body = readFileSync(path);
      this.#files.set(urlPath, {
        body,
        contentType: CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
        cacheControl: urlPath.startsWith('/assets/') ? IMMUTABLE : REVALIDATE,
        etag: `"${createHash('sha1').update(body).digest('base64url')}"`,
      });
    }
  }

  /** True when the build was found (a broker installed without it still runs, without the page). */
  get available(): boolean {
    return this.#files.has('/index.html');
  }

  /** The asset for a URL path; "/" is index.html. */
  get(urlPath: string): StaticAsset | undefined {
    return this.#files.get(urlPath === '/' ? '/index.html' : urlPath);
  }

  get size(): number {
    return this.#files.size;
  }
}

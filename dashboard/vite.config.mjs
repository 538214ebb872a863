// Builds the dashboard into dashboard/build (committed; served from memory by
// ts/gateway/static-assets.ts): `npm run build:dashboard` (= vite build dashboard).
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: 'build',
    emptyOutDir: true,
    target: 'es2022',
    // One small page: no source maps, no module-preload polyfill (modern browsers only).
    sourcemap: false,
    modulePreload: { polyfill: false },
  },
});

import path from 'node:path'
import preact from '@preact/preset-vite'
import { defineConfig } from 'vite'

/**
 * The web app: built into dist/web (or PICTURA_WEB_OUT, which the browser tests use),
 * served by `pictura serve` at `/`. Hashed file names under /assets, a manifest that
 * tells the server the build is complete, no inline script (the page's CSP forbids it).
 */
export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact()],
  resolve: {
    alias: Object.fromEntries(
      ['node:fs', 'node:http', 'node:https'].map((m) => [
        m,
        path.resolve(import.meta.dirname, 'src/node-stub.ts'),
      ]),
    ),
  },
  // `npm run dev:web`: the app with hot reload, its API calls sent to a running server (PICTURA_URL).
  server: {
    proxy: Object.fromEntries(
      ['/api', '/cdn'].map((prefix) => [prefix, process.env.PICTURA_URL ?? 'http://127.0.0.1:8787']),
    ),
  },
  build: {
    outDir: process.env.PICTURA_WEB_OUT ?? path.resolve(import.meta.dirname, '../dist/web'),
    emptyOutDir: true,
    manifest: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
})

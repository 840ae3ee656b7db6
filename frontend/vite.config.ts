// Vite configuration of the dashboard.
//
// The dev server proxies the API and the WebSockets to a local `oms serve`, so the browser
// sees one origin in development exactly as it does in production, where `oms serve`
// serves the built files from `dist/` at `/` next to `/api` and `/ws`. Relative URLs in the
// client therefore work unchanged in both.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

const omsTarget = process.env.OMS_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // The chart library (the largest dependency) is split off by the dynamic import of
    // CandleChart in App.tsx and loaded after the first paint.
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    proxy: {
      '/api': { target: omsTarget, changeOrigin: true },
      '/ws': { target: omsTarget, ws: true, changeOrigin: true },
    },
  },
  preview: {
    proxy: {
      '/api': { target: omsTarget, changeOrigin: true },
      '/ws': { target: omsTarget, ws: true, changeOrigin: true },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});

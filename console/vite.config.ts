import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Built into console/dist and served by the gateway under /console/; everything (cytoscape, uPlot, Swagger UI: its own
// 1.5 MB chunk, loaded by the REST APIs page only) is bundled, no CDN.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  logLevel: 'warn',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1600 },
});

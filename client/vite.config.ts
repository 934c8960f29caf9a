import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const API_ORIGIN = 'http://127.0.0.1:3000';
const DEV_ORIGIN = 'http://127.0.0.1:5173';
const API_PATHS = ['/trpc', '/token', '/users', '/healthz', '/readyz'];

export default defineConfig({
  plugins: [react()],
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    proxy: Object.fromEntries(
      API_PATHS.map((path) => [
        path,
        {
          target: API_ORIGIN,
          configure(proxy) {
            // The API checks Origin on cookie procedures against its own PUBLIC_URL. Through this
            // proxy the page and the API are one origin, so present the API's origin for it.
            proxy.on('proxyReq', (proxyReq) => {
              if (proxyReq.getHeader('origin') === DEV_ORIGIN)
                proxyReq.setHeader('origin', API_ORIGIN);
            });
          },
        },
      ]),
    ),
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      output: {
        // zod and the shared schemas travel together, loaded only by pages with forms.
        manualChunks: (id) =>
          /[\\/](zod|shared[\\/]src)[\\/]/.test(id) ? 'validation' : undefined,
      },
    },
  },
});

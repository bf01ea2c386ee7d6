import { describe, expect, it } from 'vitest';
import { listen, sendJson } from '../http.js';

describe('the HTTP transport', () => {
  it('no route failure reaches the process: a synchronous or asynchronous throw is a 500, no internals', async () => {
    const logged: unknown[] = [];
    const log = { error: (o: unknown) => logged.push(o) } as never;
    const server = await listen(
      {
        '/sync': () => {
          decodeURIComponent('%E0%A4%A');
        },
        '/async': async () => {
          throw new Error('SELECT secret FROM /var/lib/mesh/x.parquet');
        },
        '/ok': (_req, res) => sendJson(res, 200, { ok: true }),
      },
      0,
      { log },
    );
    try {
      for (const path of ['/sync', '/async']) {
        const res = await fetch(`${server.url}${path}`);
        expect(res.status, path).toBe(500);
        const body = await res.text();
        expect(body, path).toBe(
          JSON.stringify({
            errors: [{ message: 'internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
          }),
        );
      }
      expect(logged).toHaveLength(2);
      expect((await fetch(`${server.url}/ok`)).status).toBe(200);
      const missing = await fetch(`${server.url}/constructor`);
      expect([missing.status, ((await missing.json()) as { error: { code: string } }).error.code]).toEqual([
        404,
        'NOT_FOUND',
      ]);
    } finally {
      await server.close();
    }
  });
});

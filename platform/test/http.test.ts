import { describe, expect, it } from 'vitest';
import { listen, sendJson, withinDepth } from '../http.js';

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
        expect([res.status, res.headers.get('content-type')], path).toEqual([500, 'application/problem+json']);
        const body = (await res.json()) as Record<string, unknown>;
        expect(body, path).toEqual({
          type: 'https://mesh.example/problems/internal-server-error',
          title: 'Internal Server Error',
          status: 500,
          code: 'INTERNAL_SERVER_ERROR',
          detail: `internal server error (request ${String(body.requestId)})`,
          requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        });
        expect(JSON.stringify(body), path).not.toMatch(/SELECT|parquet|URIError/);
      }
      // The log has what the client does not, under the same request id.
      expect(logged).toHaveLength(2);
      expect((await fetch(`${server.url}/ok`)).status).toBe(200);
      const missing = await fetch(`${server.url}/constructor`);
      expect([missing.status, ((await missing.json()) as { code: string }).code]).toEqual([404, 'NOT_FOUND']);
    } finally {
      await server.close();
    }
  });
});

describe('JSON bodies', () => {
  it('are refused past 64 levels of nesting, however small, without walking them recursively', () => {
    let deep: unknown = {};
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => withinDepth(deep, 'the body')).toThrow(/the body nests deeper than 64 levels/);
    let fine: unknown = 'x';
    for (let i = 0; i < 63; i++) fine = { v: fine };
    expect(withinDepth(fine, 'the body')).toBe(fine);
  });
});

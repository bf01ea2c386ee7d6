import { describe, expect, it } from 'vitest';
import { BoundedLabel, Metrics } from '../metrics.js';
import { listen } from '../http.js';

describe('metric labels a client chooses', () => {
  it('stay bounded: the first N names, or the allowed ones, and everything else is "other"', () => {
    const ops = new BoundedLabel(3);
    expect(['A', 'B', 'C', 'D', 'A', 'E'].map((n) => ops.of(n))).toEqual(['A', 'B', 'C', 'other', 'A', 'other']);
    expect([undefined, '', 'has space', 'x'.repeat(65), 'ok.name:v1-2'].map((n) => ops.of(n))).toEqual([
      'anonymous',
      'anonymous',
      'other',
      'other',
      'other',
    ]);
    const clients = new BoundedLabel(20, ['crm-ui', 'mesh-console']);
    expect(['crm-ui', 'Probe_1', 'mesh-console'].map((n) => clients.of(n))).toEqual([
      'crm-ui',
      'other',
      'mesh-console',
    ]);
  });

  it('fifty made-up operation and client names do not grow the exposition past the bound', async () => {
    const metrics = new Metrics('test', { operations: 5, clients: 2 });
    for (let i = 0; i < 50; i++)
      metrics.requests.inc({
        operation: metrics.operations.of(`Probe_${i}`),
        client: metrics.clients.of(`client-${i}`),
        status: 'ok',
      });
    const series = (await metrics.requests.get()).values;
    expect(series.length).toBeLessThanOrEqual(6 * 3);
    expect(new Set(series.map((v) => v.labels.operation)).size).toBe(6);
  });

  it('/metrics answers only a scrape with the token, when one is set', async () => {
    const metrics = new Metrics('test');
    const server = await listen({ '/metrics': metrics.route(undefined, 's3cret') }, 0);
    try {
      expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      const ok = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer s3cret' } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('process_cpu_user_seconds_total');
    } finally {
      await server.close();
    }
  });
});

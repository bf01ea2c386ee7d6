import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { ReplicaSet, replicaSender } from '../replicas.js';
import { freePort } from '../../platform/test/helpers.js';

const servers: http.Server[] = [];
afterAll(() => {
  for (const s of servers) s.closeAllConnections();
  for (const s of servers) s.close();
});

/** A replica answering its own name, or one that accepts connections and never answers (a frozen process). */
async function replica(name: string, frozen = false): Promise<string> {
  const server = http.createServer((req, res) => {
    if (frozen) return;
    req.resume();
    req.on('end', () => res.end(name));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/graphql`;
}
/** A port nothing listens on: a replica killed with -9. */
const dead = async () => `http://127.0.0.1:${await freePort()}/graphql`;

/** node:http POST, as the gateway's transport makes it: connection errors carry their code. */
const post = (url: string, init: { signal?: AbortSignal }) =>
  new Promise<string>((resolve, reject) => {
    const req = http.request(url, { method: 'POST', signal: init.signal }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end('{}');
  });

describe('subgraph replicas, balanced by the gateway', () => {
  it('takes turns', async () => {
    const set = new ReplicaSet([await replica('a'), await replica('b')]);
    const send = replicaSender(set, post, 1000);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await send('routing', {}));
    expect(answers).toEqual(['a', 'b', 'a', 'b']);
  });

  it('retries a refused connection on another replica at once, and leaves the dead one out of turn', async () => {
    const gone = await dead();
    const set = new ReplicaSet([gone, await replica('b')]);
    const send = replicaSender(set, post, 1000);
    const started = Date.now();
    expect(await send('routing', {})).toBe('b');
    expect(Date.now() - started).toBeLessThan(500);
    expect(set.ejectedNow()).toEqual([gone]);
    expect(await send('routing', {})).toBe('b');
    expect(await send('routing', {})).toBe('b');
  });

  it('hedges a replica that does not answer: another answers after the delay, the frozen one sits out', async () => {
    const frozen = await replica('frozen', true);
    const set = new ReplicaSet([frozen, await replica('b')]);
    const send = replicaSender(set, post, 150);
    const started = Date.now();
    expect(await send('routing', {})).toBe('b');
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(1000);
    expect(set.ejectedNow()).toEqual([frozen]);
    // Out of turn: the next calls go straight to the live replica, with no hedge delay.
    const next = Date.now();
    expect(await send('routing', {})).toBe('b');
    expect(Date.now() - next).toBeLessThan(140);
  });

  it('fails when no replica answers, with the connection error, and within the caller deadline', async () => {
    const send = replicaSender(new ReplicaSet([await dead(), await dead()]), post, 100);
    await expect(send('routing', {})).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const frozen = replicaSender(new ReplicaSet([await replica('x', true), await replica('y', true)]), post, 50);
    const started = Date.now();
    await expect(frozen('routing', { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('one replica: no retry, no hedge', async () => {
    const send = replicaSender(new ReplicaSet([await dead()]), post, 10);
    await expect(send('routing', {})).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

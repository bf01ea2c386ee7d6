/**
 * The load generator of bench/gateway.ts, in a process of its own so it does not share the gateways' event loop:
 * autocannon over a list of request bodies, taken in turn by every connection. Prints one JSON line.
 *
 *   tsx bench/load.ts plan.json   ({ url, token, bodies: [...], connections, duration })
 */
import fs from 'node:fs';
import autocannon from 'autocannon';

const { url, token, bodies, connections, duration } = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as { url: string; token: string; bodies: string[]; connections: number; duration: number };
let i = 0;
const result = await autocannon({
  url,
  connections,
  duration,
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  body: bodies[0],
  requests: bodies.length > 1 ? [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: bodies[i++ % bodies.length]! }) }] : undefined,
});
process.stdout.write(`${JSON.stringify({ rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx, requests: result.requests.total })}\n`);

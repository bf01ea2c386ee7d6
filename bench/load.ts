/**
 * The load generator of bench/gateway.ts, in a process of its own so it does not share the gateways' event loop:
 * autocannon over a list of request bodies (POSTed to `url`) or of paths (GET from `url`), taken in turn by every
 * connection. Prints one JSON line.
 *
 *   tsx bench/load.ts plan.json   ({ url, token, bodies: [...] | paths: [...], connections, duration })
 */
import fs from 'node:fs';
import autocannon from 'autocannon';

const plan = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as {
  url: string;
  token: string;
  bodies?: string[];
  paths?: string[];
  connections: number;
  duration: number;
};
const { url, token, connections, duration } = plan;
let i = 0;
const result = plan.paths
  ? await autocannon({
      url,
      connections,
      duration,
      headers: { authorization: `Bearer ${token}` },
      requests: [
        {
          setupRequest: (req: autocannon.Request) => ({
            ...req,
            method: 'GET',
            path: plan.paths![i++ % plan.paths!.length]!,
          }),
        },
      ],
    })
  : await autocannon({
      url,
      connections,
      duration,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: plan.bodies![0],
      requests:
        plan.bodies!.length > 1
          ? [
              {
                setupRequest: (req: autocannon.Request) => ({ ...req, body: plan.bodies![i++ % plan.bodies!.length]! }),
              },
            ]
          : undefined,
    });
process.stdout.write(
  `${JSON.stringify({
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    requests: result.requests.total,
  })}\n`,
);

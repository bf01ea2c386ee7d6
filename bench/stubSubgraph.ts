/**
 * A stand-in subgraph for the serving limit in bench/gateway.ts: it answers each request body it has seen from memory,
 * at no cost, and forwards one it has not seen to the real subgraph once (the warm-up pass). A gateway over these stubs
 * measures what is left when subgraphs cost nothing: its own work and the network.
 *
 *   tsx bench/stubSubgraph.ts <upstream url> <port>
 */
import http from 'node:http';

const [upstream, port] = [process.argv[2]!, Number(process.argv[3])];
const answers = new Map<string, string>();

http
  .createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const held = answers.get(body);
      if (held !== undefined) return void res.writeHead(200, { 'content-type': 'application/json' }).end(held);
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length'),
      ) as Record<string, string>;
      fetch(upstream, { method: 'POST', headers, body }).then(
        async (r) => {
          const text = await r.text();
          if (r.ok) answers.set(body, text);
          res.writeHead(r.status, { 'content-type': 'application/json' }).end(text);
        },
        (err: unknown) => res.writeHead(502).end(String(err)),
      );
    });
  })
  .listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));

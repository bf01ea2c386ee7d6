/**
 * The clients of bench/contention.ts, each in a process of its own so none shares the gateway's event loop:
 *   probe   one cheap request after another (a CustomerOverview, then a one-customer Feast read, in turn), timed
 *   heavy   every heavy caller's loop at once (an analytical query or a large Feast read, again and again), counted
 * Runs `duration` seconds and prints one JSON line.
 *
 *   tsx bench/contentionLoad.ts plan.json
 */
import fs from 'node:fs';

interface Call {
  url: string;
  token: string;
  body: string;
}
const plan = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as
  | { kind: 'probe'; duration: number; overview: Call[]; feature: Call[] }
  | { kind: 'heavy'; duration: number; callers: { kind: string; calls: Call[] }[] };

const stop = Date.now() + plan.duration * 1000;

/** The status of one request (0: it did not complete) and the seconds it was told to wait. */
async function send(call: Call): Promise<{ status: number; retryAfter: number }> {
  try {
    const res = await fetch(call.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${call.token}` },
      body: call.body,
      signal: AbortSignal.timeout(Math.max(1, stop - Date.now())),
    });
    await res.arrayBuffer();
    return { status: res.status, retryAfter: Number(res.headers.get('retry-after') ?? 1) };
  } catch {
    return { status: 0, retryAfter: 0 };
  }
}

const quantile = (sorted: number[], q: number) =>
  sorted.length ? Number(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!.toFixed(2)) : NaN;

if (plan.kind === 'probe') {
  const ms: Record<'overview' | 'feature', number[]> = { overview: [], feature: [] };
  const failed: Record<string, number> = {};
  // Two callers, each one request at a time: a slow answer of one does not thin out the other's samples.
  await Promise.all(
    (['overview', 'feature'] as const).map(async (kind) => {
      const list = plan[kind];
      for (let i = 0; Date.now() < stop; i++) {
        const t = performance.now();
        const { status } = await send(list[i % list.length]!);
        if (status === 0) break;
        if (status === 200) ms[kind].push(performance.now() - t);
        else failed[`${kind} ${status}`] = (failed[`${kind} ${status}`] ?? 0) + 1;
      }
    }),
  );
  const summary = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return { n: xs.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: quantile(sorted, 1) };
  };
  process.stdout.write(`${JSON.stringify({ overview: summary(ms.overview), feature: summary(ms.feature), failed })}\n`);
} else {
  const counts: Record<string, Record<string, number>> = {};
  await Promise.all(
    plan.callers.map(async (caller, c) => {
      const tally = (counts[caller.kind] ??= {});
      for (let i = c; Date.now() < stop; i++) {
        const { status, retryAfter } = await send(caller.calls[i % caller.calls.length]!);
        // An answer the end of the run cut off is not counted.
        if (status === 0 && Date.now() >= stop) break;
        tally[status] = (tally[status] ?? 0) + 1;
        // A refused caller comes back when told to, as clients of Shopify's or GitHub's API do.
        if (status === 429) await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
      }
    }),
  );
  process.stdout.write(`${JSON.stringify(counts)}\n`);
}
process.exit(0);

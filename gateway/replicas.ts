/** What a replica call answers (the body already read), as the data source's transport returns it. */
type Send<R> = (url: string, init: { signal?: AbortSignal } & Record<string, unknown>) => Promise<R>;

/** Errors that mean the request never reached a replica's resolvers: a dead process, a reset connection. */
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);
const connectFailure = (err: unknown) => CONNECT_FAILURES.has((err as { code?: string }).code ?? '');

/**
 * The replicas of one subgraph, as the gateway balances over them on the client side: round robin over those not
 * ejected, a replica that refused a connection or was outrun by a hedge ejected for `ejectMs` (and still tried when no
 * other is left).
 */
export class ReplicaSet {
  private turn = 0;
  private readonly ejected = new Map<string, number>();

  constructor(
    readonly urls: readonly string[],
    private readonly ejectMs = 5000,
  ) {}

  /** This call's order of replicas: the next in turn first, ejected ones last. */
  order(now = Date.now()): string[] {
    const start = this.turn++ % this.urls.length;
    const rotated = [...this.urls.slice(start), ...this.urls.slice(0, start)];
    const healthy = rotated.filter((u) => (this.ejected.get(u) ?? 0) <= now);
    return [...healthy, ...rotated.filter((u) => !healthy.includes(u))];
  }

  eject(url: string): void {
    this.ejected.set(url, Date.now() + this.ejectMs);
  }

  answered(url: string): void {
    this.ejected.delete(url);
  }

  /** Replicas taken out of turn now: for /health and tests. */
  ejectedNow(now = Date.now()): string[] {
    return this.urls.filter((u) => (this.ejected.get(u) ?? 0) > now);
  }
}

/**
 * Sends a subgraph call to one replica of `set`. A connection that fails is tried once more at once on the next
 * replica; a replica that has not answered within `hedgeMs` gets a second call on the next (a hedged request, as in
 * "The Tail at Scale"), and the first answer wins, the other call abandoned. Both are safe because the gateway serves
 * queries only (mutations are refused before planning). At most two calls per fetch, within the caller's deadline.
 */
export function replicaSender<R>(set: ReplicaSet, send: Send<R>, hedgeMs: number): Send<R> {
  return (_routingUrl, init) =>
    new Promise<R>((resolve, reject) => {
      const order = set.order();
      const calls: { url: string; abort: AbortController }[] = [];
      let settled = false;
      let pending = 0;
      let hedge: NodeJS.Timeout | undefined;
      const finish = (outcome: () => void) => {
        settled = true;
        clearTimeout(hedge);
        for (const c of calls) c.abort.abort(new Error('answered by another replica'));
        outcome();
      };
      const launch = (): boolean => {
        const url = order[calls.length];
        if (settled || url === undefined || calls.length >= 2) return false;
        const abort = new AbortController();
        calls.push({ url, abort });
        pending++;
        const signal = init.signal ? AbortSignal.any([init.signal, abort.signal]) : abort.signal;
        send(url, { ...init, signal }).then(
          (res) => {
            pending--;
            if (settled) return;
            set.answered(url);
            // Outrun by the hedge: the first replica is slow or frozen, and sits out a while.
            if (url !== calls[0]!.url) set.eject(calls[0]!.url);
            finish(() => resolve(res));
          },
          (err: unknown) => {
            pending--;
            if (settled) return;
            if (connectFailure(err)) {
              set.eject(url);
              if (!init.signal?.aborted && launch()) return;
            }
            if (pending === 0 || init.signal?.aborted) finish(() => reject(err));
          },
        );
        return true;
      };
      launch();
      if (order.length > 1) hedge = setTimeout(launch, hedgeMs);
    });
}

import { randomUUID } from 'node:crypto';
import { TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';
import { getJson, putJson, operationSignature, type ObjectStore, type Logger } from '../../platform/index.js';
import { USAGE_PREFIX, usageKey } from '../../products/index.js';

/** One operation a client ran, with the schema coordinates it touches: `Type.field` and `Type.field.argument`. */
export interface OperationUsage {
  signature: string;
  name: string;
  client: string;
  coordinates: string[];
  count: number;
  firstSeen: string;
  lastSeen: string;
}

/** What an operation touches, and a signature that ignores whitespace (the same text is the same operation). */
export function describeOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
): { signature: string; coordinates: string[] } {
  const coordinates = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (parent && field) coordinates.add(`${parent.name}.${field.name}`);
      },
      Argument() {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        const arg = typeInfo.getArgument();
        if (parent && field && arg) coordinates.add(`${parent.name}.${field.name}.${arg.name}`);
      },
    }),
  );
  return { signature: operationSignature(document), coordinates: [...coordinates].sort() };
}

/**
 * Aggregates operations in memory and flushes them to the object store every few seconds, one object per flush
 * (`_platform/usage/<day>/<recorder>-<n>.json`): an object store cannot append, and no request ever waits for a write.
 */
export class UsageRecorder {
  private pending = new Map<string, OperationUsage>();
  private readonly id = randomUUID().slice(0, 8);
  private seq = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: ObjectStore,
    private readonly log: Logger,
    flushMs = 5000,
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  record(op: { signature: string; name: string; client: string; coordinates: string[] }): void {
    const now = new Date().toISOString();
    const key = `${op.signature}\u0000${op.client}`;
    const seen = this.pending.get(key);
    if (seen) {
      seen.count++;
      seen.lastSeen = now;
    } else this.pending.set(key, { ...op, count: 1, firstSeen: now, lastSeen: now });
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    const key = usageKey(batch[0]!.lastSeen.slice(0, 10), this.id, this.seq++);
    await putJson(this.store, key, batch, { layer: 'platform', 'data-product': 'operation-usage' }).catch(
      (err: unknown) => {
        this.log.warn(
          { err: (err as Error).message },
          'could not store operation usage; keeping it for the next flush',
        );
        for (const u of batch) this.record(u);
      },
    );
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

/** Every operation seen since `since`, merged across recorders and flushes, per (signature, client). */
export async function readUsage(
  store: ObjectStore,
  options: { since: Date; excludeClients?: string[] },
): Promise<OperationUsage[]> {
  const day = options.since.toISOString().slice(0, 10);
  const objects = (await store.list(USAGE_PREFIX)).filter(
    (o) => o.key.slice(USAGE_PREFIX.length, USAGE_PREFIX.length + 10) >= day,
  );
  const merged = new Map<string, OperationUsage>();
  for (const o of objects) {
    for (const u of (await getJson<OperationUsage[]>(store, o.key)) ?? []) {
      if (u.lastSeen < options.since.toISOString() || options.excludeClients?.includes(u.client)) continue;
      const key = `${u.signature}\u0000${u.client}`;
      const m = merged.get(key);
      if (!m) merged.set(key, { ...u });
      else {
        m.count += u.count;
        if (u.firstSeen < m.firstSeen) m.firstSeen = u.firstSeen;
        if (u.lastSeen > m.lastSeen) m.lastSeen = u.lastSeen;
      }
    }
  }
  return [...merged.values()].sort((a, b) => b.count - a.count);
}

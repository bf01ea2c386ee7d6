import fs from 'node:fs';
import path from 'node:path';
import type { RunEvent } from '../platform/index.js';

/** Where events go. A transport throws when a batch could not be delivered; the emitter retries and spools it. */
export interface Transport {
  readonly name: string;
  send(events: RunEvent[]): Promise<void>;
}

/**
 * Any OpenLineage HTTP endpoint (Marquez, DataHub's /openapi/openlineage/api/v1/lineage, …), configured the way
 * OpenLineage clients are: OPENLINEAGE_URL + OPENLINEAGE_ENDPOINT, OPENLINEAGE_API_KEY as a bearer token.
 */
export class HttpTransport implements Transport {
  readonly name = 'http';
  private readonly target: string;

  constructor(private readonly config: { url: string; endpoint: string; apiKey?: string; timeoutMs?: number }) {
    this.target = `${config.url.replace(/\/+$/, '')}/${config.endpoint.replace(/^\/+/, '')}`;
  }

  async send(events: RunEvent[]): Promise<void> {
    // One event per request, as the OpenLineage API takes them; a batch fails as a whole so it is retried as a whole.
    for (const event of events) {
      const res = await fetch(this.target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}),
        },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(this.config.timeoutMs ?? 5000),
      });
      await res.arrayBuffer();
      if (res.status >= 300) throw new Error(`${this.target} answered HTTP ${res.status}`);
    }
  }
}

/** JSON lines appended to a file, one event per line (what `openlineage` file transports write). */
export class FileTransport implements Transport {
  readonly name = 'file';
  constructor(private readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  }

  async send(events: RunEvent[]): Promise<void> {
    await fs.promises.appendFile(this.file, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  }
}

export class ConsoleTransport implements Transport {
  readonly name = 'console';
  async send(events: RunEvent[]): Promise<void> {
    for (const e of events) process.stderr.write(`${JSON.stringify(e)}\n`);
  }
}

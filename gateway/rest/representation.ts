import type { BoundEndpoint } from '../../products/index.js';

export type Representation = 'json' | 'csv';

const MEDIA: Record<Representation, string> = { json: 'application/json', csv: 'text/csv' };

/**
 * The representation the Accept header prefers among those the resource has (JSON; CSV for lists and analytical
 * resources), or undefined when it accepts none. Highest q wins, then the more specific range, then JSON.
 */
export function negotiate(accept: string | undefined, bound: BoundEndpoint): Representation | undefined {
  if (!accept?.trim()) return 'json';
  const ranges = accept.split(',').map((part) => {
    const [range = '', ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return { range, q: q ? Number(q.slice(2)) : 1 };
  });
  const offered: Representation[] = bound.kind === 'entity' ? ['json'] : ['json', 'csv'];
  const scored = offered.map((rep) => {
    const type = MEDIA[rep];
    const match = ranges
      .map((r) => ({
        q: r.q,
        specificity: r.range === type ? 2 : r.range === `${type.split('/')[0]}/*` ? 1 : r.range === '*/*' ? 0 : -1,
      }))
      .filter((m) => m.specificity >= 0)
      .sort((a, b) => b.specificity - a.specificity)[0];
    return { rep, q: match && Number.isFinite(match.q) ? match.q : 0, specificity: match?.specificity ?? -1 };
  });
  const best = scored.filter((s) => s.q > 0).sort((a, b) => b.q - a.q || b.specificity - a.specificity)[0];
  return best?.rep;
}

/**
 * RFC 4180 CSV of the rows, one column per dotted path. A text cell that a spreadsheet would run as a formula
 * (`=`, `+`, `-`, `@` first) is prefixed with a quote mark (OWASP's CSV injection advice).
 */
export function toCsv(columns: string[], rows: unknown[]): string {
  const lines = [columns.map(cell).join(',')];
  for (const row of rows) lines.push(columns.map((c) => cell(at(row, c))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function at(row: unknown, dotted: string): unknown {
  let v = row;
  for (const part of dotted.split('.'))
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Plain text tables for the one-screen summaries. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-US') : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: (string | number)[]) =>
    r
      .map((c, i) => (typeof rows[0]?.[i] === 'number' ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!)))
      .join('  ');
  return [line(cells[0]!), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** A rate for a summary line: `n` per second over `ms`, rounded, with thousands separators. */
export const perSecond = (n: number, ms: number): string =>
  Math.round(n / Math.max(ms / 1000, 0.001)).toLocaleString('en-US');

export function parseNumber(name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || Number.isNaN(n)) throw new Error(`${name} must be a number, got "${value}"`);
  return n;
}

/** A commander parser for an ISO-8601 time option, naming the option when the value is not one. */
export const dateOption =
  (name: string) =>
  (v: string): Date => {
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw new Error(`${name} must be an ISO-8601 time, got "${v}"`);
    return d;
  };

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;

/** A DOM element from a tag, attributes (`on*` are listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function table(headers: string[], rows: Child[][], attrs: Attrs = {}): HTMLTableElement {
  return h(
    'table',
    attrs,
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((x) => h('th', {}, x)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((r) =>
        h(
          'tr',
          {},
          r.map((c) => h('td', {}, c)),
        ),
      ),
    ),
  );
}

const BADGE: Record<string, string> = {
  active: 'ok',
  paused: 'warn',
  running: 'warn',
  OK: 'ok',
  PASSED: 'ok',
  passed: 'ok',
  succeeded: 'ok',
  SAFE: 'ok',
  AT_RISK: 'warn',
  DANGEROUS: 'warn',
  BREACHED: 'bad',
  BREAKING: 'bad',
  FAILED: 'bad',
  failed: 'bad',
  NO_DATA: 'muted',
  up: 'ok',
  starting: 'warn',
  restarting: 'warn',
  stopped: 'bad',
};

export function badge(text: string, attrs: Attrs = {}): HTMLSpanElement {
  return h('span', { ...attrs, class: `badge ${BADGE[text] ?? 'muted'}` }, text.replace('_', ' '));
}

export function card(title: Child, ...children: Child[]): HTMLElement {
  return h('section', { class: 'card' }, h('h3', {}, title), ...children);
}

export function hours(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  return n >= 48 ? `${(n / 24).toFixed(1)} d` : `${n.toFixed(1)} h`;
}

export function percent(n: number | null | undefined, digits = 2): string {
  return n === null || n === undefined ? '—' : `${(n * 100).toFixed(digits)}%`;
}

export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—';
}

/** Cents for real money, three significant digits for the fractions of a cent small data products cost. */
export function dollars(n: number): string {
  return n >= 1 || n === 0 ? `$${n.toFixed(2)}` : `$${n.toPrecision(3)}`;
}

export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function errorBox(err: unknown): HTMLElement {
  return h('div', { class: 'error', role: 'alert' }, err instanceof Error ? err.message : String(err));
}

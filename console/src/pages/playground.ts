import EXAMPLE from '../../../gateway/examples/CustomerOverview.graphql?raw';
import { gql, type GraphQLResponse } from '../api.js';
import { h } from '../ui.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Queries through the gateway as the signed-in role; PII the role gets as tokens is marked as masked, not shown as
 * data.
 */
export async function playgroundPage(root: HTMLElement): Promise<void> {
  const queryInput = h('textarea', {
    rows: 18,
    spellcheck: 'false',
    'aria-label': 'Query',
    'data-testid': 'playground-query',
  });
  queryInput.value = sessionStorage.getItem('playground-query') ?? EXAMPLE;
  const variablesInput = h('textarea', { rows: 4, spellcheck: 'false', 'aria-label': 'Variables' });
  variablesInput.value = sessionStorage.getItem('playground-variables') ?? '{ "id": "c-0000001" }';
  const output = h('div', { class: 'result', 'data-testid': 'playground-result' });
  const run = async () => {
    sessionStorage.setItem('playground-query', queryInput.value);
    sessionStorage.setItem('playground-variables', variablesInput.value);
    let variables: Record<string, unknown> | undefined;
    try {
      variables = variablesInput.value.trim()
        ? (JSON.parse(variablesInput.value) as Record<string, unknown>)
        : undefined;
    } catch (err) {
      output.replaceChildren(h('div', { class: 'error' }, `Variables are not JSON: ${(err as Error).message}`));
      return;
    }
    output.replaceChildren(h('p', { class: 'muted' }, 'Running…'));
    const started = performance.now();
    const r = await gql<Json>(queryInput.value, variables);
    output.replaceChildren(...render(r, performance.now() - started));
  };
  root.replaceChildren(
    h('h2', {}, 'Query playground'),
    h(
      'div',
      { class: 'split' },
      h(
        'div',
        {},
        queryInput,
        h('label', {}, 'Variables'),
        variablesInput,
        h('button', { onclick: () => void run(), 'data-testid': 'playground-run' }, 'Run'),
      ),
      output,
    ),
  );
}

function render(r: GraphQLResponse<Json>, ms: number): HTMLElement[] {
  const g = r.extensions?.governance;
  const masked = new Set(g?.masked ?? []);
  const withheld = new Set(g?.withheld ?? []);
  return [
    h(
      'p',
      { class: 'muted', 'data-testid': 'playground-status' },
      `HTTP ${r.status} in ${ms.toFixed(0)} ms · subgraph fetches ${r.headers.get('x-mesh-subgraph-fetches') ?? '—'}`,
      g ? ` · as ${g.role}: ${masked.size} field(s) masked, ${withheld.size} withheld` : '',
    ),
    ...(r.errors ?? []).map((e) =>
      h(
        'div',
        { class: 'error' },
        `${e.extensions?.code ?? 'ERROR'} ${e.path ? `at ${e.path.join('.')}` : ''}: ${e.message}`,
      ),
    ),
    h('pre', { class: 'json' }, value(r.data ?? null, [], masked, withheld)),
  ];
}

/**
 * The JSON tree; a leaf's path (response keys, list indices left out) says whether the gateway masked or withheld it.
 */
function value(v: Json, path: string[], masked: Set<string>, withheld: Set<string>): Node {
  const key = path.join('.');
  if (Array.isArray(v))
    return h(
      'span',
      {},
      '[',
      v.length
        ? h(
            'div',
            { class: 'indent' },
            v.map((x, i) => h('div', {}, value(x, path, masked, withheld), i < v.length - 1 ? ',' : '')),
          )
        : null,
      ']',
    );
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    return h(
      'span',
      {},
      '{',
      h(
        'div',
        { class: 'indent' },
        entries.map(([k, x], i) =>
          h(
            'div',
            {},
            h('span', { class: 'key' }, `"${k}"`),
            ': ',
            value(x, [...path, k], masked, withheld),
            i < entries.length - 1 ? ',' : '',
          ),
        ),
      ),
      '}',
    );
  }
  const text = JSON.stringify(v);
  if (masked.has(key))
    return h(
      'span',
      { class: 'masked', 'data-masked': 'true', 'data-path': key, title: 'PII: a token for your role, not the value' },
      text,
      h('span', { class: 'tag' }, 'masked'),
    );
  if (withheld.has(key))
    return h(
      'span',
      { class: 'withheld', 'data-withheld': 'true', 'data-path': key, title: 'PII your role may not read' },
      text,
      h('span', { class: 'tag' }, 'withheld'),
    );
  return h('span', { class: typeof v === 'string' ? 'str' : 'lit' }, text);
}

import cytoscape from 'cytoscape';
import { query } from '../api.js';
import { h, table, badge, when } from '../ui.js';
import type { ColumnReader } from '../../../lineage/index.js';

interface Diagram {
  nodes: { id: string; namespace: string; dataset: string; field: string; kind: string }[];
  edges: {
    from: string;
    to: string;
    job: string;
    type: string;
    subtype: string | null;
    masked: boolean;
    count: number;
  }[];
}

const GRAPH =
  `query Lineage($dataset: String!, $field: String, $depth: Int) {
  lineageGraph(dataset: $dataset, field: $field, depth: $depth) { nodes { id namespace dataset field kind } edges { ` +
  `from to job type subtype masked count } }
}`;
const READERS =
  `query Readers($dataset: String!, $column: String!) { columnReaders(dataset: $dataset, column: ` +
  `$column) { operation client role masked count lastSeen } }`;
const DATASETS = `{ dataProducts { domain datasets { name columns { name } } } }`;

const KIND_COLOR: Record<string, string> = {
  raw: '#94a3b8',
  curated: '#2563eb',
  feature: '#16a34a',
  online: '#0891b2',
  operation: '#d97706',
};

/** The lineage around a column or dataset, across domains, down to fields; select a node to re-centre on it. */
export async function lineagePage(root: HTMLElement, signal: AbortSignal, params: URLSearchParams): Promise<void> {
  const dataset = params.get('dataset') ?? 'sales.customers';
  const field = params.get('field') ?? 'email';
  const depth = Number(params.get('depth') ?? 6);
  const { dataProducts } = await query<{
    dataProducts: { domain: string; datasets: { name: string; columns: { name: string }[] }[] }[];
  }>(DATASETS);
  const options = dataProducts.flatMap((p) => p.datasets.map((d) => `${p.domain}.${d.name}`));
  const columns = dataProducts.flatMap((p) =>
    p.datasets.filter((d) => `${p.domain}.${d.name}` === dataset).flatMap((d) => d.columns.map((c) => c.name)),
  );
  const datasetInput = h('input', { list: 'datasets', value: dataset, 'aria-label': 'Dataset', name: 'dataset' });
  const fieldInput = h('input', {
    list: 'columns',
    value: field,
    'aria-label': 'Field',
    name: 'field',
    placeholder: '* for the whole dataset',
  });
  const go = (d: string, f: string) =>
    (location.hash = `#/lineage?${new URLSearchParams({ dataset: d, field: f || '*', depth: String(depth) })}`);
  const [{ lineageGraph }, readers] = await Promise.all([
    query<{ lineageGraph: Diagram }>(GRAPH, { dataset, field: field === '*' ? null : field, depth }),
    field !== '*'
      ? query<{ columnReaders: ColumnReader[] }>(READERS, { dataset, column: field }).then((r) => r.columnReaders)
      : Promise.resolve([] as ColumnReader[]),
  ]);
  if (signal.aborted) return;
  const container = h('div', {
    class: 'graph',
    'data-testid': 'lineage-graph',
    'data-nodes': lineageGraph.nodes.length,
    'data-edges': lineageGraph.edges.length,
  });
  const focus = lineageGraph.nodes.filter(
    (n) => n.dataset === dataset && (field === '*' || n.field === field || n.field === '*'),
  );
  const paths = pathsToOperations(
    lineageGraph,
    focus.map((n) => n.id),
  );
  root.replaceChildren(
    h('h2', {}, 'Lineage'),
    h(
      'form',
      { class: 'controls', onsubmit: (e: Event) => (e.preventDefault(), go(datasetInput.value, fieldInput.value)) },
      h(
        'datalist',
        { id: 'datasets' },
        options.map((o) => h('option', { value: o })),
      ),
      h(
        'datalist',
        { id: 'columns' },
        columns.map((c) => h('option', { value: c })),
      ),
      datasetInput,
      fieldInput,
      h('button', { type: 'submit' }, 'Show'),
      h(
        'span',
        { class: 'legend' },
        Object.entries(KIND_COLOR).map(([k, c]) => h('span', {}, h('i', { style: `background:${c}` }), k)),
        h('span', {}, h('i', { class: 'dashed' }), 'masked for some reader'),
      ),
    ),
    h(
      'p',
      { class: 'muted' },
      `${lineageGraph.nodes.length} nodes, ${lineageGraph.edges.length} edges within ${depth} hops ` +
        `of ${dataset}${field === '*' ? '' : `.${field}`}. Select a node to centre on it.`,
    ),
    h(
      'div',
      { class: 'split' },
      container,
      h(
        'aside',
        {},
        h('h3', {}, 'Paths to gateway operations'),
        paths.length
          ? h(
              'ol',
              { 'data-testid': 'lineage-paths' },
              paths.slice(0, 12).map((p) => h('li', { 'data-testid': 'lineage-path' }, p.map(label).join(' → '))),
            )
          : h('p', { class: 'muted' }, 'No gateway operation has read this yet.'),
      ),
    ),
    h(
      'div',
      {},
      field === '*'
        ? null
        : [
            h('h3', {}, `Who read ${dataset}.${field}`),
            readers.length
              ? table(
                  ['Operation', 'Client', 'Role', 'Got', 'Reads', 'Last'],
                  readers.map((r) => [
                    r.operation,
                    r.client,
                    r.role,
                    badge(r.masked ? 'MASKED' : 'CLEAR'),
                    String(r.count),
                    when(r.lastSeen),
                  ]),
                  { 'data-testid': 'lineage-readers' },
                )
              : h('p', { class: 'muted' }, 'No reader recorded.'),
          ],
    ),
  );
  draw(container, lineageGraph, new Set(focus.map((n) => n.id)), (n) => go(n.dataset, n.field));
}

function label(id: string): string {
  const [dataset, field] = id.split('#');
  return field === '*' ? dataset! : `${dataset}.${field}`;
}

/** Downstream paths from the focus to every operation output reached (breadth-first: shortest first). */
function pathsToOperations(g: Diagram, from: string[]): string[][] {
  const kind = new Map(g.nodes.map((n) => [n.id, n.kind]));
  const out = new Map<string, string[]>();
  for (const e of g.edges) out.set(e.from, [...(out.get(e.from) ?? []), e.to]);
  const found: string[][] = [];
  const seen = new Set(from);
  let frontier = from.map((id) => [id]);
  while (frontier.length > 0) {
    const next: string[][] = [];
    for (const path of frontier) {
      for (const to of out.get(path.at(-1)!) ?? []) {
        if (seen.has(to)) continue;
        seen.add(to);
        (kind.get(to) === 'operation' ? found : next).push([...path, to]);
      }
    }
    frontier = next;
  }
  return found;
}

function draw(
  container: HTMLElement,
  g: Diagram,
  focus: Set<string>,
  select: (n: Diagram['nodes'][number]) => void,
): void {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  // Laid out once the container is in the document and has a size.
  requestAnimationFrame(() => {
    const cy = cytoscape({
      container,
      elements: [
        ...g.nodes.map((n) => ({
          data: { id: n.id, label: n.field === '*' ? n.dataset : `${n.dataset} · ${n.field}`, kind: n.kind },
          classes: focus.has(n.id) ? 'focus' : '',
        })),
        ...g.edges.map((e, i) => ({
          data: { id: `e${i}`, source: e.from, target: e.to, label: e.subtype ?? e.type },
          classes: e.masked ? 'masked' : '',
        })),
      ],
      style: [
        {
          selector: 'node',
          style: {
            label: 'data(label)',
            'text-wrap': 'wrap',
            'font-size': 9,
            'text-valign': 'center',
            'text-halign': 'right',
            'text-margin-x': 5,
            width: 12,
            height: 12,
            'background-color': '#64748b',
          },
        },
        ...Object.entries(KIND_COLOR).map(([k, c]) => ({
          selector: `node[kind = "${k}"]`,
          style: { 'background-color': c },
        })),
        { selector: 'node.focus', style: { 'border-width': 3, 'border-color': '#111827', width: 20, height: 20 } },
        {
          selector: 'edge',
          style: {
            width: 1.2,
            'line-color': '#cbd5e1',
            'target-arrow-color': '#94a3b8',
            'target-arrow-shape': 'triangle',
            'curve-style': 'bezier',
          },
        },
        {
          selector: 'edge.masked',
          style: { 'line-style': 'dashed', 'line-color': '#dc2626', 'target-arrow-color': '#dc2626' },
        },
      ],
      // Sources on the left, readers on the right: breadthfirst ranks top-down, so x and y are swapped.
      layout: {
        name: 'breadthfirst',
        directed: true,
        spacingFactor: 1,
        roots: g.nodes.filter((n) => !g.edges.some((e) => e.to === n.id)).map((n) => n.id),
        transform: (_n, p) => ({ x: p.y * 2.2, y: p.x * 0.45 }),
      },
      wheelSensitivity: 0.3,
    });
    cy.on('tap', 'node', (e) => {
      const n = byId.get(e.target.id());
      if (n) select(n);
    });
  });
}

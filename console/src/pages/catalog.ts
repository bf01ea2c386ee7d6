import { getJson, query } from '../api.js';
import { h, table, badge, hours, when } from '../ui.js';
import type { SloReport } from './slo.js';
import type { DataProduct } from '../../../lineage/index.js';

const DATA_PRODUCTS =
  `{ dataProducts { domain name owner description contractVersion domainVersion status
  slos { property value unit } freshness { publishedAt dataAsOf ageHours sloHours ok } quality { runId status passed ` +
  `total failed }
  datasets { name rows columns { name type pii } } consumers { job clients reads } } }`;

export async function catalogPage(root: HTMLElement): Promise<void> {
  const [{ dataProducts }, slo] = await Promise.all([
    query<{ dataProducts: DataProduct[] }>(DATA_PRODUCTS),
    getJson<SloReport>('/console/api/slo'),
  ]);
  const state = new Map(slo.domains.map((d) => [d.domain, d]));
  const detail = h('div');
  const rows = dataProducts.map((p) => [
    h(
      'a',
      { href: '#', onclick: (e: Event) => (e.preventDefault(), detail.replaceChildren(describe(p))) },
      h('strong', {}, p.name),
      p.name !== p.domain ? h('div', { class: 'muted' }, p.domain) : null,
    ),
    p.owner,
    `v${p.domainVersion}`,
    `${p.contractVersion} (${p.status})`,
    badge(state.get(p.domain)?.state ?? 'NO_DATA', { 'data-testid': `catalog-slo-${p.domain}` }),
    h(
      'span',
      { class: p.freshness.ok === false ? 'bad-text' : '' },
      `${hours(p.freshness.ageHours)} / SLO ${hours(p.freshness.sloHours)}`,
    ),
    p.quality ? h('span', {}, badge(p.quality.status), ` ${p.quality.passed}/${p.quality.total}`) : '—',
    p.datasets.map((d) => `${d.name} (${d.rows.toLocaleString()})`).join(', '),
    String(p.consumers.length),
  ]);
  root.replaceChildren(
    h('h2', {}, 'Data products'),
    h(
      'p',
      { class: 'muted' },
      'Owner, versions, contract, SLO state (evaluated by this gateway), freshness against the contract, last ' +
        'quality run. Select one for its schema and consumers.',
    ),
    table(
      ['Data product', 'Owner', 'Domain', 'Contract', 'SLO', 'Data age', 'Quality', 'Datasets (rows)', 'Consumers'],
      rows,
      { 'data-testid': 'catalog' },
    ),
    detail,
  );
}

function describe(p: DataProduct): HTMLElement {
  return h(
    'section',
    { class: 'card', 'data-testid': `product-${p.domain}` },
    h('h3', {}, `${p.name} · ${p.domain}`),
    h('p', {}, p.description),
    h(
      'p',
      { class: 'muted' },
      `SLOs: ${p.slos.map((s) => `${s.property} ${s.value}${s.unit ? ` ${s.unit}` : ''}`).join(', ')} · data as ` +
        `of ${when(p.freshness.dataAsOf)}`,
    ),
    p.quality?.failed.length ? h('p', { class: 'bad-text' }, `Failed rules: ${p.quality.failed.join('; ')}`) : null,
    p.datasets.map((d) =>
      h(
        'div',
        {},
        h('h4', {}, `${p.domain}.${d.name}`),
        table(
          ['Column', 'Type', 'PII'],
          d.columns.map((c) => [c.name, c.type, c.pii ? badge('PII') : '']),
        ),
      ),
    ),
    h('h4', {}, 'Consumers'),
    p.consumers.length
      ? table(
          ['Job', 'Clients', 'Reads'],
          p.consumers.map((c) => [c.job, c.clients.join(', ') || '—', String(c.reads)]),
        )
      : h('p', { class: 'muted' }, 'No recorded consumer yet.'),
  );
}

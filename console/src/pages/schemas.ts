import { getJson } from '../api.js';
import { h, card, table, badge, when } from '../ui.js';
import type { RecordedCheck, SchemaVersionSummary } from '../../../governance/index.js';

interface SubgraphSchemas {
  subgraph: string;
  /** Where the gateway routes to it: shown to operators and admins only. */
  url?: string;
  versions: SchemaVersionSummary[];
  checks: RecordedCheck[];
}

export async function schemasPage(root: HTMLElement): Promise<void> {
  const subgraphs = await getJson<SubgraphSchemas[]>('/console/api/schemas');
  root.replaceChildren(
    h('h2', {}, 'Schemas'),
    h(
      'p',
      { class: 'muted' },
      'Published versions per subgraph (npx mesh schema publish) and the latest checks (npx mesh schema check): ' +
        'composition, changes, recorded traffic, versioning, contract.',
    ),
    h('div', { class: 'grid' }, subgraphs.map(subgraphCard)),
  );
}

function subgraphCard(s: SubgraphSchemas): HTMLElement {
  const current = s.versions[0];
  return card(
    h(
      'span',
      { 'data-testid': `schema-${s.subgraph}` },
      `${s.subgraph} `,
      current ? h('code', {}, current.version) : badge('UNPUBLISHED'),
    ),
    ...(s.url ? [h('div', { class: 'muted' }, s.url)] : []),
    s.versions.length
      ? table(
          ['#', 'Version', 'Contract', 'Published', 'By', 'Commit'],
          s.versions
            .slice(0, 5)
            .map((v) => [
              String(v.seq),
              v.version + (v.rollbackOf ? ` (rollback of #${v.rollbackOf})` : ''),
              v.contractVersion ?? '—',
              when(v.publishedAt),
              v.author,
              v.gitCommit?.slice(0, 8) ?? '—',
            ]),
        )
      : h('p', { class: 'muted' }, 'Never published.'),
    h('h4', {}, 'Recent checks'),
    s.checks.length
      ? h(
          'ul',
          { class: 'checks' },
          s.checks.map((c) =>
            h(
              'li',
              {},
              badge(c.ok ? 'PASSED' : 'FAILED'),
              ` ${c.version} · ${when(c.checkedAt)}`,
              h(
                'div',
                { class: 'muted' },
                c.steps.map((st) => `${st.ok ? '✓' : '✗'} ${st.name}: ${st.summary}`).join(' · '),
              ),
              c.changes.length
                ? h(
                    'ul',
                    {},
                    c.changes.slice(0, 8).map((x) => h('li', {}, badge(x.criticality), ` ${x.path}: ${x.message}`)),
                  )
                : null,
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No check recorded.'),
  );
}

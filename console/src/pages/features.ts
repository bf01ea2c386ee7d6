import { query } from '../api.js';
import { h, table, hours, when } from '../ui.js';

interface FeatureView {
  name: string;
  version: number;
  versions: number[];
  domain: string;
  owner: string;
  description: string;
  entities: string[];
  ttlSeconds: number;
  features: { name: string; dtype: string; description: string | null }[];
  createdAt: string;
  materializedUntil: string | null;
}

const FEATURES =
  `{ featureViews { name version versions domain owner description entities ttlSeconds features { name ` +
  `dtype description } createdAt materializedUntil }
  featureServices { name version domain owner features } }`;

export async function featuresPage(root: HTMLElement): Promise<void> {
  let data: {
    featureViews: FeatureView[];
    featureServices: { name: string; version: number; domain: string; owner: string | null; features: string[] }[];
  };
  try {
    data = await query(FEATURES);
  } catch (err) {
    root.replaceChildren(
      h('h2', {}, 'Feature views'),
      h(
        'p',
        { class: 'muted' },
        `No feature server in this supergraph (npx mesh features apply registers views): ${(err as Error).message}`,
      ),
    );
    return;
  }
  const now = Date.now();
  const detail = h('div');
  root.replaceChildren(
    h('h2', {}, 'Feature views'),
    h(
      'p',
      { class: 'muted' },
      'From the feature registry: every version stays resolvable as view@vN:feature. Freshness is how far behind now ' +
        'the online store is.',
    ),
    table(
      ['View', 'Domain', 'Owner', 'Version', 'Entities', 'TTL', 'Features', 'Online until', 'Online lag'],
      data.featureViews.map((v) => {
        const lag = v.materializedUntil ? (now - Date.parse(v.materializedUntil)) / 3_600_000 : null;
        const stale = lag !== null && v.ttlSeconds > 0 && lag * 3600 > v.ttlSeconds;
        return [
          h(
            'a',
            { href: '#', onclick: (e: Event) => (e.preventDefault(), detail.replaceChildren(describe(v))) },
            v.name,
          ),
          v.domain,
          v.owner,
          `v${v.version} (of ${v.versions.map((n) => `v${n}`).join(', ')})`,
          v.entities.join(', '),
          v.ttlSeconds ? hours(v.ttlSeconds / 3600) : 'none',
          String(v.features.length),
          when(v.materializedUntil),
          h('span', { class: stale ? 'bad-text' : '' }, hours(lag), stale ? ' (beyond TTL)' : ''),
        ];
      }),
      { 'data-testid': 'feature-views' },
    ),
    detail,
    h('h3', {}, 'Feature services'),
    table(
      ['Service', 'Domain', 'Version', 'Features (pinned)'],
      data.featureServices.map((s) => [
        s.name,
        s.domain,
        `v${s.version}`,
        h('span', { class: 'muted' }, s.features.join(', ')),
      ]),
    ),
  );
}

function describe(v: FeatureView): HTMLElement {
  return h(
    'section',
    { class: 'card' },
    h('h3', {}, `${v.name}@v${v.version}`),
    h('p', {}, v.description),
    h('p', { class: 'muted' }, `Registered ${when(v.createdAt)}`),
    table(
      ['Feature', 'Type', 'Description'],
      v.features.map((f) => [`${v.name}:${f.name}`, f.dtype, f.description ?? '']),
    ),
  );
}

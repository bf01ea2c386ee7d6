import 'uplot/dist/uPlot.min.css';
import './style.css';
import { getJson, session, ApiError } from './api.js';
import { h, errorBox } from './ui.js';
import { catalogPage } from './pages/catalog.js';
import { sloPage } from './pages/slo.js';
import { lineagePage } from './pages/lineage.js';
import { featuresPage } from './pages/features.js';
import { schemasPage } from './pages/schemas.js';
import { costPage } from './pages/cost.js';
import { playgroundPage } from './pages/playground.js';
import { apiPage } from './pages/api.js';

/** A page renders into `root`; `signal` aborts when the user leaves it (timers, pending renders). */
export type Page = (root: HTMLElement, signal: AbortSignal, params: URLSearchParams) => Promise<void>;

const PAGES: { path: string; title: string; page: Page }[] = [
  { path: 'catalog', title: 'Data products', page: catalogPage },
  { path: 'slo', title: 'SLOs', page: sloPage },
  { path: 'lineage', title: 'Lineage', page: lineagePage },
  { path: 'features', title: 'Features', page: featuresPage },
  { path: 'schemas', title: 'Schemas', page: schemasPage },
  { path: 'cost', title: 'Cost', page: costPage },
  { path: 'playground', title: 'Playground', page: playgroundPage },
  { path: 'api', title: 'REST APIs', page: apiPage },
];

const app = document.getElementById('app')!;
let current: AbortController | undefined;

async function render(): Promise<void> {
  current?.abort();
  const controller = (current = new AbortController());
  if (!session.token) return login();
  let identity: { sub: string; role: string };
  try {
    identity = await getJson('/console/api/whoami');
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return login(err.message);
    throw err;
  }
  const [path = 'catalog', search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const entry = PAGES.find((p) => p.path === path) ?? PAGES[0]!;
  const main = h('main', { 'data-page': entry.path });
  app.replaceChildren(
    h(
      'header',
      {},
      h('strong', {}, 'Mesh console'),
      h(
        'nav',
        {},
        PAGES.map((p) => h('a', { href: `#/${p.path}`, class: p === entry ? 'active' : undefined }, p.title)),
      ),
      h('span', { class: 'who', 'data-testid': 'role' }, `${identity.sub} · ${identity.role}`),
      h('button', { class: 'link', onclick: () => (session.clear(), void render()) }, 'Sign out'),
    ),
    main,
  );
  document.title = `${entry.title} · Mesh console`;
  try {
    await entry.page(main, controller.signal, new URLSearchParams(search));
  } catch (err) {
    if (!controller.signal.aborted) main.append(errorBox(err));
  }
}

function login(problem?: string): void {
  const input = h('textarea', { id: 'token', rows: 4, placeholder: 'eyJhbGciOi…', 'aria-label': 'Bearer token' });
  app.replaceChildren(
    h(
      'form',
      {
        class: 'login card',
        onsubmit: (e: Event) => {
          e.preventDefault();
          session.set(input.value);
          void render();
        },
      },
      h('h2', {}, 'Mesh console'),
      h(
        'p',
        {},
        'Paste a bearer token (',
        h('code', {}, 'npx mesh token --role analyst'),
        '). The console sees what your role may see.',
      ),
      problem ? errorBox(problem) : null,
      input,
      h('button', { type: 'submit' }, 'Sign in'),
    ),
  );
}

window.addEventListener('hashchange', () => void render());
void render();

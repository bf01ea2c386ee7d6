import 'swagger-ui-dist/swagger-ui.css';
import { session } from '../api.js';
import { h } from '../ui.js';

interface MeshDocument {
  tags: { name: string; description?: string }[];
  paths: Record<string, unknown>;
}

/**
 * Each domain's REST API reference, rendered by Swagger UI (bundled, no CDN) from the document the gateway generates.
 * "Try it out" calls the gateway with the signed-in token, so it answers exactly as it would answer this user.
 */
export async function apiPage(root: HTMLElement, signal: AbortSignal, params: URLSearchParams): Promise<void> {
  const mesh = (await (await fetch('/openapi.json', { signal })).json()) as MeshDocument;
  // Every domain and path major the gateway serves, from the mesh document's paths (/<domain>/v<major>/…).
  const versions = [
    ...new Set(
      Object.keys(mesh.paths)
        .map((p) => /^\/([^/]+)\/v(\d+)\//.exec(p))
        .filter((m) => m !== null)
        .map((m) => `${m[1]}/v${m[2]}`),
    ),
  ].sort();
  const selected = versions.includes(params.get('api') ?? '') ? params.get('api')! : (versions[0] ?? '');
  const reference = h('div', { 'data-testid': 'api-reference' });
  root.replaceChildren(
    h('h2', {}, 'REST APIs'),
    h(
      'p',
      { class: 'muted' },
      "Each data product's resources as persisted GraphQL operations, served by the gateway with the same rules. " +
        'Documents: ',
      h('a', { href: `/${selected}/openapi.json` }, `/${selected}/openapi.json`),
      ' (and .yaml) · the whole mesh: ',
      h('a', { href: '/openapi.json' }, '/openapi.json'),
      '. "Try it out" uses your token.',
    ),
    h(
      'nav',
      { class: 'tabs' },
      versions.map((v) =>
        h(
          'a',
          {
            href: `#/api?api=${v}`,
            class: v === selected ? 'active' : undefined,
            'data-testid': `api-${v.replace('/', '-')}`,
          },
          v,
        ),
      ),
    ),
    reference,
  );
  if (!selected) return;
  // Swagger UI is large: loaded with this page only.
  const { default: SwaggerUIBundle } = await import('swagger-ui-dist/swagger-ui-bundle.js');
  if (signal.aborted) return;
  SwaggerUIBundle({
    url: `/${selected}/openapi.json`,
    domNode: reference,
    deepLinking: false,
    tryItOutEnabled: false,
    requestInterceptor: (req) => {
      if (session.token && !req.url.endsWith('/openapi.json')) req.headers.Authorization = `Bearer ${session.token}`;
      return req;
    },
  });
}

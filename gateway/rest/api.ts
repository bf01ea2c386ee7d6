import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import { printSchema, type GraphQLSchema } from 'graphql';
import { stringify } from 'yaml';
import { sendJson, type DomainInfo, type Logger, type Route } from '../../platform/index.js';
import { bindEndpoint, loadEndpoints, type FieldAnnotator } from '../../products/index.js';
import {
  customProperty,
  fieldAccess,
  loadContract,
  loadPolicy,
  slaHours,
  type DataContract,
  type RolePolicy,
} from '../../governance/index.js';
import type { FieldSource } from '../../lineage/index.js';
import type { GatewayContext } from '../context.js';
import type { PiiOwners } from '../plugins/useAuthorization.js';
import { openApiDocument, type ApiDomain } from './openapi.js';
import { restRoute, type Binding } from './route.js';

export interface RestApiOptions {
  domains: DomainInfo[];
  server: ApolloServer<GatewayContext>;
  context: (req: IncomingMessage) => Promise<GatewayContext>;
  /** The gateway's API schema and PII owners, as they are now. */
  state: { schema?: GraphQLSchema; pii: PiiOwners };
  policy: RolePolicy;
  roles: string[];
  fields: Map<string, FieldSource[]>;
  deadlineMs: number;
  log: Logger;
}

/**
 * Every domain's REST endpoints and OpenAPI documents on the gateway's port: `/<domain>/v<major>/…`,
 * `/<domain>/v<major>/openapi.json|yaml`, and `/openapi.json|yaml` for the whole mesh.
 */
export function restApi(o: RestApiOptions): Record<string, Route> {
  const { endpoints, problems } = loadEndpoints(o.domains, { deprecationDays: loadPolicy().api.deprecationDays });
  for (const problem of problems) o.log.error({ problem }, 'REST endpoint file left out');
  const api = new Map(o.domains.map((d) => [d.name, apiDomain(d)]));
  // What answers depend on besides data, the same on every gateway replica: the role and governance policies and the
  // endpoints.
  const rules = createHash('sha256')
    .update(JSON.stringify([o.policy, loadPolicy(), endpoints.map((e) => e.document)]))
    .digest('hex')
    .slice(0, 16);
  let bound: (Binding & { schema: GraphQLSchema }) | undefined;
  const binding = (): Binding => {
    const schema = o.state.schema;
    if (!schema)
      return {
        endpoints: endpoints.map((endpoint) => ({ endpoint, unavailable: 'the gateway has no schema yet' })),
        fingerprint: rules,
      };
    if (bound?.schema !== schema) {
      const annotate = annotator(o.state.pii, o.policy, o.roles, o.fields, api);
      bound = {
        schema,
        fingerprint: `${rules}.${createHash('sha256').update(printSchema(schema)).digest('hex').slice(0, 16)}`,
        endpoints: endpoints.map((endpoint) => {
          try {
            return { endpoint, bound: bindEndpoint(schema, endpoint, annotate) };
          } catch (err) {
            o.log.error({ err, endpoint: endpoint.name }, 'REST endpoint does not bind to the supergraph');
            return { endpoint, unavailable: (err as Error).message };
          }
        }),
      };
    }
    return bound;
  };
  const maxAgeOf = new Map([...api].map(([name, d]) => [name, maxAgeSeconds(d.contract)]));
  const resources = restRoute({
    server: o.server,
    context: o.context,
    binding,
    maxAge: (domains) => Math.min(...domains.map((d) => maxAgeOf.get(d) ?? 0)),
    deadlineMs: o.deadlineMs,
    log: o.log,
  });
  const document = (name: string | undefined, major: number | undefined) => {
    const scope = binding().endpoints.filter(
      (s) => (name === undefined || s.endpoint.domain === name) && (major === undefined || s.endpoint.major === major),
    );
    if (name === undefined) {
      return openApiDocument({
        title: 'Marketplace data mesh REST API',
        version: [...api.values()].map((d) => `${d.name} ${d.version}`).join(', '),
        description:
          "Every data product's REST resources, served by the governed gateway. Each domain also has its own " +
          'document at /<domain>/v<major>/openapi.json.',
        domains: [...api.values()],
        served: scope,
        contact: { name: 'mesh-platform' },
      });
    }
    const d = api.get(name)!;
    return openApiDocument({
      title: `${d.contract.name ?? name} data product API v${major}`,
      version: major === Number(d.version.split('.')[0]) ? d.version : `${major}.x (deprecated)`,
      description: [
        d.contract.description?.purpose,
        d.contract.description?.usage && `Usage: ${d.contract.description.usage}`,
        d.contract.description?.limitations && `Limitations: ${d.contract.description.limitations}`,
      ]
        .filter(Boolean)
        .join('\n\n'),
      domains: [d],
      served: scope,
      contact: { name: d.contract.team?.name ?? `${name}-data` },
    });
  };
  const docRoute =
    (name: string | undefined, major: number | undefined, format: 'json' | 'yaml'): Route =>
    (_req, res) => {
      const doc = document(name, major);
      if (format === 'json') return sendJson(res, 200, doc);
      res.setHeader('content-type', 'application/yaml');
      res.end(stringify(doc, { aliasDuplicateObjects: false }));
    };
  const routes: Record<string, Route> = {
    '/openapi.json': docRoute(undefined, undefined, 'json'),
    '/openapi.yaml': docRoute(undefined, undefined, 'yaml'),
  };
  for (const e of endpoints) {
    routes[`/${e.domain}/v${e.major}/openapi.json`] = docRoute(e.domain, e.major, 'json');
    routes[`/${e.domain}/v${e.major}/openapi.yaml`] = docRoute(e.domain, e.major, 'yaml');
    routes[`/${e.domain}/*`] = resources;
  }
  return routes;
}

function apiDomain(d: DomainInfo): ApiDomain {
  const contract = loadContract(d.contractFile, d.name);
  const slo = Object.fromEntries([
    // A percentile objective (freshness p99) beside the plain one of the same property: `freshness.p99`.
    ...(contract.slaProperties ?? []).map((s) => [
      s.valueExt ? `${s.property}.${String(s.valueExt)}` : s.property,
      {
        value: s.value,
        ...(s.unit ? { unit: s.unit } : {}),
        ...(s.element ? { element: s.element } : {}),
        ...(s.description ? { description: s.description } : {}),
      },
    ]),
    ...(customProperty(contract, 'schedule') !== undefined ? [['schedule', customProperty(contract, 'schedule')]] : []),
  ]);
  return { name: d.name, version: d.version, contract, slo };
}

/**
 * How long a client may reuse an answer: the product's update frequency SLO (a new version can appear no sooner), else
 * its freshness SLO.
 */
function maxAgeSeconds(contract: DataContract): number {
  return Math.round((slaHours(contract, 'frequency') ?? slaHours(contract, 'freshness') ?? 0) * 3600);
}

/**
 * Each field's documentation beyond the GraphQL schema: the curated columns it reads and, for PII, what each role
 * receives.
 */
function annotator(
  pii: PiiOwners,
  policy: RolePolicy,
  roles: string[],
  fields: Map<string, FieldSource[]>,
  api: Map<string, ApiDomain>,
): FieldAnnotator {
  return (type, field) => {
    const key = `${type}.${field}`;
    const sources = [
      ...new Set(fields.get(key)?.flatMap((s) => s.columns.map((c) => `${c.domain}.${c.dataset}.${c.column}`))),
    ];
    const column =
      fields.get(key)?.[0]?.columns.length === 1 && !fields.get(key)?.[0]?.computed
        ? fields.get(key)![0]!.columns[0]
        : undefined;
    const described =
      column &&
      api
        .get(column.domain)
        ?.contract.schema.find((s) => s.name === column.dataset)
        ?.properties.find((p) => p.name === column.column)?.description;
    const owner = pii.get(key);
    const extra: Record<string, unknown> = {
      ...(described ? { description: described } : {}),
      ...(sources?.length ? { 'x-source-columns': sources } : {}),
      ...(owner
        ? {
            'x-pii': {
              kind: owner.kind,
              owner: owner.domain,
              // clear: the value; masked: a deterministic token; deny: absent, with an UNAUTHORIZED_FIELD_OR_TYPE
              // error.
              access: Object.fromEntries(roles.map((r) => [r, fieldAccess(policy, r, owner) ?? 'deny'])),
            },
          }
        : {}),
    };
    return Object.keys(extra).length ? { extra, deniable: owner !== undefined } : undefined;
  };
}

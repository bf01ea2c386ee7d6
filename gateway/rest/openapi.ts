import { ErrorCode } from '../../platform/index.js';
import type { BoundEndpoint, JsonSchema } from '../../products/index.js';
import type { DataContract } from '../../governance/index.js';
import type { Served } from './route.js';

/** A domain as its API document describes it. */
export interface ApiDomain {
  name: string;
  version: string;
  contract: DataContract;
  /** The contract's SLOs, as `x-slo`. */
  slo: Record<string, unknown>;
}

const PROBLEM = { $ref: '#/components/schemas/Problem' };

/** The statuses an endpoint may answer besides 200 and 304, with the codes each carries. */
function failures(bound: BoundEndpoint): [number, string, ErrorCode[]][] {
  return [
    [
      400,
      'A parameter is unknown, missing or ill-typed, or the query it makes is over the limits.',
      [ErrorCode.BAD_USER_INPUT, ErrorCode.QUERY_LIMIT_EXCEEDED],
    ],
    [401, 'No valid bearer token.', [ErrorCode.UNAUTHENTICATED]],
    [403, "The token's role is not one the policy knows, or it may not read this resource.", [ErrorCode.FORBIDDEN]],
    [404, bound.kind === 'entity' ? 'Nothing has these identifiers.' : 'No such resource.', [ErrorCode.NOT_FOUND]],
    [405, 'A method other than GET or HEAD (see Allow).', [ErrorCode.METHOD_NOT_ALLOWED]],
    [
      406,
      `The Accept header allows neither application/json${bound.kind === 'entity' ? '' : ' nor text/csv'}.`,
      [ErrorCode.NOT_ACCEPTABLE],
    ],
    ...(bound.endpoint.deprecation
      ? ([[410, 'Past its sunset date.', [ErrorCode.GONE]]] as [number, string, ErrorCode[]][])
      : []),
    [
      429,
      "The caller's cost budget is spent, or heavy work is at capacity: retry after Retry-After seconds (the cost " +
        'and the budget in `cost`).',
      [ErrorCode.THROTTLED],
    ],
    [500, 'A fault of the server; the log has the details under the request id.', [ErrorCode.INTERNAL_SERVER_ERROR]],
    [502, 'A data product answered with an error.', [ErrorCode.SUBGRAPH_ERROR]],
    [
      503,
      'A data product the resource needs cannot be reached (see Retry-After), or the endpoint does not match the ' +
        'published schema.',
      [ErrorCode.SUBGRAPH_UNAVAILABLE, ErrorCode.SERVICE_UNAVAILABLE],
    ],
    [504, 'The request ran over its deadline.', [ErrorCode.GATEWAY_TIMEOUT]],
  ];
}

/**
 * An OpenAPI 3.1 document for these endpoints: paths from the persisted operations, schemas from the supergraph
 * (through the bound shapes), prose, owner and SLOs from the data contracts. One domain's major, or the whole mesh.
 */
export function openApiDocument(o: {
  title: string;
  version: string;
  description: string;
  domains: ApiDomain[];
  served: Served[];
  contact?: { name: string };
}): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const s of [...o.served].sort((a, b) => a.endpoint.path.localeCompare(b.endpoint.path))) {
    if (!s.bound) continue;
    paths[s.endpoint.path] = { get: operation(s.bound) };
  }
  const single = o.domains.length === 1 ? o.domains[0] : undefined;
  return {
    openapi: '3.1.0',
    info: {
      title: o.title,
      version: o.version,
      description: o.description,
      ...(o.contact ? { contact: o.contact } : {}),
      ...(single ? domainExtensions(single) : {}),
    },
    servers: [{ url: '/', description: 'The mesh gateway that serves this document' }],
    security: [{ bearerAuth: [] }],
    tags: o.domains.map((d) => ({
      name: d.name,
      description: d.contract.description?.purpose ?? d.contract.name ?? d.name,
      ...domainExtensions(d),
    })),
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A JWT whose `role` claim the governance policy knows. The role decides how each PII field is served: ' +
            'see `x-pii` on the fields.',
        },
      },
      schemas: {
        Problem: {
          type: 'object',
          description: 'RFC 9457 problem details carrying the mesh error code and the request id.',
          required: ['type', 'title', 'status', 'code', 'detail', 'requestId'],
          properties: {
            type: { type: 'string', format: 'uri' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            instance: { type: 'string' },
            code: { type: 'string', enum: Object.values(ErrorCode) },
            requestId: { type: 'string' },
            parameter: { type: 'string', description: 'The parameter at fault (BAD_USER_INPUT).' },
            errors: { type: 'array', items: { $ref: '#/components/schemas/PartialError' } },
          },
        },
        PartialError: {
          type: 'object',
          description:
            'A part of the resource that is missing and why: a field the role may not read ' +
            '(UNAUTHORIZED_FIELD_OR_TYPE), a data product that did not answer.',
          required: ['code', 'message'],
          properties: {
            code: { type: 'string' },
            message: { type: 'string' },
            path: { type: 'array', items: { type: ['string', 'integer'] } },
          },
        },
        AccessReport: {
          type: 'object',
          description:
            "Which fields of `data` are tokens instead of values (masked) and which were withheld, for the caller's " +
            'role (dotted paths, list indices left out).',
          required: ['role', 'masked', 'withheld'],
          properties: {
            role: { type: 'string' },
            masked: { type: 'array', items: { type: 'string' } },
            withheld: { type: 'array', items: { type: 'string' } },
          },
        },
        Page: {
          type: 'object',
          required: ['hasNextPage', 'endCursor'],
          properties: {
            hasNextPage: { type: 'boolean' },
            endCursor: {
              type: ['string', 'null'],
              description: 'Pass it as the cursor parameter for the next page (the Link header does).',
            },
            totalCount: { type: 'integer' },
          },
        },
      },
      headers: {
        ETag: {
          description:
            'Derived from the curated versions read, the role and the parameters: send it back as If-None-Match.',
          schema: { type: 'string' },
        },
        CacheControl: {
          description:
            'private, max-age from the update-frequency SLO of the data products read; no-store when a part is ' +
            'missing because a data product did not answer.',
          schema: { type: 'string' },
        },
        RequestId: {
          description: 'The request id (sent by the client as X-Request-Id, or made by the gateway).',
          schema: { type: 'string' },
        },
        Link: {
          description:
            'rel="next": the next page (lists); rel="successor-version": the next major (deprecated endpoints).',
          schema: { type: 'string' },
        },
        Deprecation: { description: 'RFC 9745: when this major was deprecated.', schema: { type: 'string' } },
        Sunset: { description: 'RFC 8594: when this major stops answering (410).', schema: { type: 'string' } },
        RetryAfter: {
          description: 'RFC 9110: seconds to wait before asking again (429, 503).',
          schema: { type: 'string' },
        },
        QueryCost: {
          description: "The request's estimated cost in budget points, from the domains' @cost and @listSize.",
          schema: { type: 'string' },
        },
        RateLimitRemaining: {
          description: "Points left in the caller's cost budget after this request.",
          schema: { type: 'string' },
        },
      },
    },
  };
}

function operation(bound: BoundEndpoint): Record<string, unknown> {
  const e = bound.endpoint;
  const list = bound.kind !== 'entity';
  const envelope: JsonSchema = {
    type: 'object',
    required: ['data'],
    additionalProperties: false,
    properties: {
      data: bound.resource,
      ...(bound.kind === 'list' ? { page: { $ref: '#/components/schemas/Page' } } : {}),
      errors: { type: 'array', items: { $ref: '#/components/schemas/PartialError' } },
      governance: { $ref: '#/components/schemas/AccessReport' },
    },
  };
  const headers: Record<string, unknown> = {
    ETag: { $ref: '#/components/headers/ETag' },
    'Cache-Control': { $ref: '#/components/headers/CacheControl' },
    'X-Request-Id': { $ref: '#/components/headers/RequestId' },
    'X-Mesh-Query-Cost': { $ref: '#/components/headers/QueryCost' },
    'RateLimit-Remaining': { $ref: '#/components/headers/RateLimitRemaining' },
    ...(bound.kind === 'list' || e.deprecation ? { Link: { $ref: '#/components/headers/Link' } } : {}),
    ...(e.deprecation
      ? { Deprecation: { $ref: '#/components/headers/Deprecation' }, Sunset: { $ref: '#/components/headers/Sunset' } }
      : {}),
  };
  return {
    operationId: e.name,
    summary: e.summary,
    ...(e.description ? { description: e.description } : {}),
    tags: [e.domain],
    ...(e.deprecation ? { deprecated: true } : {}),
    'x-graphql-operation': e.document,
    'x-resource-kind': bound.kind,
    parameters: bound.parameters.map((p) => ({
      name: p.name,
      in: p.in,
      required: p.required,
      ...(p.description ? { description: p.description } : {}),
      schema: p.schema,
      ...(p.schema.type === 'array' ? { style: 'form', explode: true } : {}),
    })),
    responses: {
      200: {
        description: list ? 'The resource. Ask for text/csv to get one row per item.' : 'The resource.',
        headers,
        content: {
          'application/json': { schema: envelope },
          ...(list
            ? { 'text/csv': { schema: { type: 'string', description: `Columns: ${bound.columns.join(', ')}` } } }
            : {}),
        },
      },
      304: {
        description: 'Not modified since the ETag sent as If-None-Match.',
        headers: { ETag: headers.ETag, 'Cache-Control': headers['Cache-Control'] },
      },
      ...Object.fromEntries(
        failures(bound).map(([status, description, codes]) => [
          status,
          {
            description: `${description} Codes: ${codes.join(', ')}.`,
            headers: {
              'X-Request-Id': headers['X-Request-Id'],
              ...(status === 429 || status === 503
                ? { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } }
                : {}),
            },
            content: { 'application/problem+json': { schema: PROBLEM } },
          },
        ]),
      ),
    },
  };
}

function domainExtensions(d: ApiDomain): Record<string, unknown> {
  const owners = (d.contract.team?.members ?? []).filter((m) => m.role === 'Owner').map((m) => m.username);
  return {
    'x-owner': { team: d.contract.team?.name ?? `${d.name}-data`, owners },
    'x-slo': d.slo,
    'x-data-contract': { id: d.contract.id, version: d.contract.version },
  };
}

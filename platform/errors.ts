/** Stable error codes of the platform: callers and tests match on `code`, never on message text. */
export const ErrorCode = {
  CONFIG_INVALID: 'CONFIG_INVALID',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONTRACT_INVALID: 'CONTRACT_INVALID',
  PIPELINE_INVALID: 'PIPELINE_INVALID',
  SOURCE_MISSING: 'SOURCE_MISSING',
  QUALITY_GATE_FAILED: 'QUALITY_GATE_FAILED',
  ACCOUNTING_MISMATCH: 'ACCOUNTING_MISMATCH',
  STORE_ERROR: 'STORE_ERROR',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  UNAUTHORIZED_FIELD_OR_TYPE: 'UNAUTHORIZED_FIELD_OR_TYPE',
  COMPOSITION_FAILED: 'COMPOSITION_FAILED',
  FEATURES_INVALID: 'FEATURES_INVALID',
  SCHEMA_CHECK_FAILED: 'SCHEMA_CHECK_FAILED',
  ONLINE_STORE_ERROR: 'ONLINE_STORE_ERROR',
  /** The control plane (the shared registry database) is unreachable or refusing. */
  CONTROL_PLANE_ERROR: 'CONTROL_PLANE_ERROR',
  /** The event stream's broker (MESH_STREAM_URL) is unreachable or refusing. */
  STREAM_UNAVAILABLE: 'STREAM_UNAVAILABLE',
  /** A compare-and-swap lost a race (409): the record moved since it was read; the message names its new head. */
  CONFLICT: 'CONFLICT',
  /** A subgraph did not answer (network failure): the gateway returns partial data. */
  SUBGRAPH_UNAVAILABLE: 'SUBGRAPH_UNAVAILABLE',
  /** A subgraph answered with an HTTP error. */
  SUBGRAPH_ERROR: 'SUBGRAPH_ERROR',
  /** A subgraph schema that does not parse (schema checks, composition). */
  INVALID_GRAPHQL: 'INVALID_GRAPHQL',
  /** SQL whose column lineage cannot be derived (a construct the analysis does not follow): never a guess. */
  LINEAGE_UNDERIVABLE: 'LINEAGE_UNDERIVABLE',
  /** Two subgraphs annotate the same shared field with different PII kinds. */
  PII_ANNOTATION_MISMATCH: 'PII_ANNOTATION_MISMATCH',
  /** GraphQL request errors (GraphQL over HTTP: all 4xx). */
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  /** Depth, aliases, tokens, directives or cost over the gateway's limits. */
  QUERY_LIMIT_EXCEEDED: 'QUERY_LIMIT_EXCEEDED',
  /** Automatic persisted queries (Apollo's protocol): the hash is not known yet, so the client sends the query. */
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  /** The document has no operation of the name asked, or several and no name. */
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
  /** Mutations and subscriptions: the mesh serves queries. */
  OPERATION_NOT_SUPPORTED: 'OPERATION_NOT_SUPPORTED',
  /** No representation the client accepts (406): REST resources are JSON, and CSV for lists. */
  NOT_ACCEPTABLE: 'NOT_ACCEPTABLE',
  /** A REST endpoint past its sunset date (410). */
  GONE: 'GONE',
  /** A request body over the configured limit (413). */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** An HTTP method the resource does not serve (405, with `Allow`). */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  /** A request body in a media type the resource does not read (415): JSON bodies are `application/json`. */
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** The caller's cost budget or the heavy-work pool is spent for now (429, with `Retry-After`). */
  THROTTLED: 'THROTTLED',
  /** A resource that exists but cannot be served for now (503, with `Retry-After`). */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** A deadline passed: the request's, a subgraph fetch's or a statement's. */
  GATEWAY_TIMEOUT: 'GATEWAY_TIMEOUT',
  /** A fault of the server, not the request: details go to the log only. */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class MeshError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MeshError';
    this.code = code;
    this.details = details;
  }
}

/** The HTTP status an error maps to where a transport needs one. */
export function httpStatus(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.UNAUTHENTICATED:
      return 401;
    case ErrorCode.FORBIDDEN:
      return 403;
    case ErrorCode.NOT_FOUND:
      return 404;
    case ErrorCode.BAD_USER_INPUT:
    case ErrorCode.GRAPHQL_PARSE_FAILED:
    case ErrorCode.GRAPHQL_VALIDATION_FAILED:
    case ErrorCode.QUERY_LIMIT_EXCEEDED:
    case ErrorCode.OPERATION_RESOLUTION_FAILURE:
      return 400;
    case ErrorCode.OPERATION_NOT_SUPPORTED:
    case ErrorCode.METHOD_NOT_ALLOWED:
      return 405;
    // The protocol's answer, not a failure: the client sends the query with its hash.
    case ErrorCode.PERSISTED_QUERY_NOT_FOUND:
      return 200;
    case ErrorCode.NOT_ACCEPTABLE:
      return 406;
    case ErrorCode.CONFLICT:
      return 409;
    case ErrorCode.GONE:
      return 410;
    case ErrorCode.PAYLOAD_TOO_LARGE:
      return 413;
    case ErrorCode.UNSUPPORTED_MEDIA_TYPE:
      return 415;
    case ErrorCode.THROTTLED:
      return 429;
    case ErrorCode.SUBGRAPH_ERROR:
      return 502;
    case ErrorCode.SUBGRAPH_UNAVAILABLE:
    case ErrorCode.SERVICE_UNAVAILABLE:
      return 503;
    case ErrorCode.GATEWAY_TIMEOUT:
      return 504;
    // A store the server depends on is down or refusing: the server is unavailable for now, not broken.
    case ErrorCode.ONLINE_STORE_ERROR:
    case ErrorCode.CONTROL_PLANE_ERROR:
    case ErrorCode.STREAM_UNAVAILABLE:
    case ErrorCode.STORE_ERROR:
      return 503;
    default:
      return 500;
  }
}

export function isMeshError(err: unknown, code?: ErrorCode): err is MeshError {
  return err instanceof MeshError && (code === undefined || err.code === code);
}

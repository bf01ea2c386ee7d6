import type { ApolloServerPlugin } from '@apollo/server';
import { ErrorCode } from '../../platform/index.js';
import type { GatewayContext } from '../context.js';

/** A request error's stable code, from what Apollo and graphql-armor say about it. */
function classify(e: { message: string; extensions?: Record<string, unknown> }): ErrorCode | undefined {
  if (/limit of \d+ exceeded|contains more \w+ \d+ tokens/i.test(e.message)) return ErrorCode.QUERY_LIMIT_EXCEEDED;
  if (/^Syntax Error/.test(e.message)) return ErrorCode.GRAPHQL_PARSE_FAILED;
  if (/^Unknown operation named|^Must provide operation name/.test(e.message))
    return ErrorCode.OPERATION_RESOLUTION_FAILURE;
  if (/^The schema has no "(mutation|subscription)" root type/.test(e.message))
    return ErrorCode.OPERATION_NOT_SUPPORTED;
  if (
    e.extensions?.code === 'GRAPHQL_VALIDATION_FAILED' ||
    e.extensions?.code === 'GRAPHQL_PARSE_FAILED' ||
    e.extensions?.code === 'BAD_USER_INPUT'
  )
    return e.extensions.code as ErrorCode;
  return undefined;
}

/**
 * GraphQL over HTTP: a request the server cannot execute because of the request itself (it does not parse, does not
 * validate, exceeds a limit, names no operation it has, asks for an operation type the mesh does not offer) is a 4xx
 * with a stable code, never a 500. 5xx is left to faults of the server.
 */
export function useHttpStatus(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse(rc) {
          const body = rc.response.body;
          if (body.kind !== 'single' || !body.singleResult.errors || body.singleResult.data !== undefined) return;
          const codes = body.singleResult.errors.map(classify);
          if (codes.some((c) => c === undefined)) return;
          body.singleResult.errors = body.singleResult.errors.map((e, i) => ({
            ...e,
            // graphql-armor reports its limits as syntax errors; they are not.
            message: codes[i] === ErrorCode.QUERY_LIMIT_EXCEEDED ? e.message.replace(/^Syntax Error: /, '') : e.message,
            extensions: { ...e.extensions, code: codes[i] },
          }));
          rc.response.http.status =
            codes.includes(ErrorCode.OPERATION_NOT_SUPPORTED) && rc.request.http?.method === 'GET' ? 405 : 400;
        },
      };
    },
  };
}

/** The console talks to the gateway that serves it, with the user's own token: it sees what its user may see. */

const TOKEN_KEY = 'mesh-console-token';
export const CLIENT_NAME = 'mesh-console';

export const session = {
  get token(): string | null {
    return localStorage.getItem(TOKEN_KEY);
  },
  set(token: string): void {
    localStorage.setItem(TOKEN_KEY, token.trim());
  },
  clear(): void {
    localStorage.removeItem(TOKEN_KEY);
  },
};

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface GraphQLResponse<T> {
  status: number;
  headers: Headers;
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[];
  extensions?: { governance?: { role: string; masked: string[]; withheld: string[] } };
}

function headers(): Record<string, string> {
  return {
    'content-type': 'application/json',
    authorization: `Bearer ${session.token ?? ''}`,
    'apollographql-client-name': CLIENT_NAME,
  };
}

/** An HTTP failure: an RFC 9457 problem from the console's API, GraphQL errors from /graphql. */
async function failure(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => ({}))) as {
    code?: string;
    detail?: string;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
  const graphql = body.errors?.[0];
  return new ApiError(
    body.detail ?? graphql?.message ?? `HTTP ${res.status}`,
    res.status,
    body.code ?? graphql?.extensions?.code,
  );
}

/** A GraphQL request through the gateway; GraphQL errors come back in the result, HTTP failures (401, 403) throw. */
export async function gql<T>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>> {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify({ query, variables }),
  });
  if (res.status === 401 || res.status === 403) throw await failure(res);
  const body = (await res.json()) as Omit<GraphQLResponse<T>, 'status' | 'headers'>;
  return { ...body, status: res.status, headers: res.headers };
}

/** GraphQL data or an error naming what failed. */
export async function query<T>(text: string, variables?: Record<string, unknown>): Promise<T> {
  const r = await gql<T>(text, variables);
  if (!r.data || (r.errors?.length && !r.data))
    throw new ApiError(r.errors?.map((e) => e.message).join('; ') ?? 'no data', r.status);
  return r.data;
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: headers() });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

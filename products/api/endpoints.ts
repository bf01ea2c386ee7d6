import fs from 'node:fs';
import path from 'node:path';
import { Kind, parse, print, type OperationDefinitionNode, type VariableDefinitionNode } from 'graphql';
import { MeshError, ErrorCode, isMeshError, type DomainInfo } from '../../platform/index.js';

/** Where a domain keeps its REST endpoints: `api/v<major>/<name>.graphql`, one persisted operation per file. */
export const API_DIR = 'api';

/**
 * A REST resource a domain publishes: a named GraphQL query, persisted and reviewed like code. Its header comment
 * (`# GET /sales/v1/customers/{id}`, then description lines) gives the method and path; path parameters are the
 * variables named in braces, every other variable is a query parameter. Nothing else describes it.
 */
export interface RestEndpoint {
  domain: string;
  /** The path major, which is the domain's semver major when the endpoint was published. */
  major: number;
  /** The operation's name: the endpoint's name in usage, lineage and metrics, and its OpenAPI operationId. */
  name: string;
  method: 'GET';
  /** OpenAPI path template, `/sales/v1/customers/{id}`. */
  path: string;
  pathParams: string[];
  summary: string;
  description: string;
  /** The document as sent to the gateway, comments removed. */
  document: string;
  operation: OperationDefinitionNode;
  variables: readonly VariableDefinitionNode[];
  /** Relative to the repository's domains folder, for messages. */
  file: string;
  /** Set on a major older than the domain's: served until `sunset`, then 410. */
  deprecation?: { successor: number; since?: string; sunset?: string; problem?: string };
}

/**
 * Every endpoint of these domains, each major, and what is wrong with the files that are not endpoints: a bad file
 * is left out (and reported) rather than taking every other domain's endpoints down with it.
 */
export function loadEndpoints(
  domains: DomainInfo[],
  options: { deprecationDays: number },
): { endpoints: RestEndpoint[]; problems: string[] } {
  const endpoints: RestEndpoint[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const domain of domains) {
    for (const loaded of domainEndpoints(domain, options.deprecationDays)) {
      if (typeof loaded === 'string') {
        problems.push(loaded);
        continue;
      }
      const clash = [`name ${loaded.name}`, `path GET ${loaded.path.replace(/\{[^}]+\}/g, '{}')}`].find((key) =>
        seen.has(key),
      );
      if (clash) {
        problems.push(`REST endpoint ${loaded.file}: ${clash} is also declared by ${seen.get(clash)}`);
        continue;
      }
      seen
        .set(`name ${loaded.name}`, loaded.file)
        .set(`path GET ${loaded.path.replace(/\{[^}]+\}/g, '{}')}`, loaded.file);
      endpoints.push(loaded);
    }
  }
  return { endpoints, problems };
}

function domainEndpoints(domain: DomainInfo, deprecationDays: number): (RestEndpoint | string)[] {
  const root = path.join(domain.dir, API_DIR);
  if (!fs.existsSync(root)) return [];
  const current = Number(domain.version.split('.')[0]);
  const out: (RestEndpoint | string)[] = [];
  for (const dir of fs.readdirSync(root).sort()) {
    const m = /^v(\d+)$/.exec(dir);
    if (!m) continue;
    const major = Number(m[1]);
    const label = `${domain.name}/${API_DIR}/${dir}`;
    if (major > current) {
      out.push(`REST endpoints ${label}: ahead of the domain's version ${domain.version}`);
      continue;
    }
    const deprecation = major < current ? deprecationOf(domain, major, current, deprecationDays) : undefined;
    for (const file of fs
      .readdirSync(path.join(root, dir))
      .filter((f) => f.endsWith('.graphql'))
      .sort()) {
      try {
        out.push({
          ...parseEndpoint(fs.readFileSync(path.join(root, dir, file), 'utf8'), domain.name, major, `${label}/${file}`),
          deprecation,
        });
      } catch (err) {
        if (!isMeshError(err)) throw err;
        out.push(err.message);
      }
    }
  }
  return out;
}

/** One endpoint file. Exported for the schema checks and tests, which read candidates that are not on disk. */
export function parseEndpoint(
  text: string,
  domain: string,
  major: number,
  file: string,
): Omit<RestEndpoint, 'deprecation'> {
  const header = text
    .split('\n')
    .filter((l, i, lines) => l.startsWith('#') && lines.slice(0, i).every((p) => p.startsWith('#')));
  const route = /^#\s*(GET)\s+(\S+)\s*$/.exec(header[0] ?? '');
  if (!route) throw invalid(file, 'must start with a "# GET /<domain>/v<major>/…" line');
  const endpointPath = route[2]!;
  const prefix = `/${domain}/v${major}/`;
  if (!endpointPath.startsWith(prefix)) throw invalid(file, `path ${endpointPath} must start with ${prefix}`);
  if (!/^(\/([a-z0-9-]+|\{[A-Za-z_][A-Za-z0-9_]*\}))+$/.test(endpointPath))
    throw invalid(file, `path ${endpointPath}: segments are lower-case words with hyphens or {parameters}`);
  let doc;
  try {
    doc = parse(text, { noLocation: true });
  } catch (err) {
    throw invalid(file, (err as Error).message);
  }
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (ops.length !== 1 || ops[0]!.operation !== 'query' || !ops[0]!.name)
    throw invalid(file, 'must hold exactly one named query');
  const operation = ops[0]!;
  if (operation.selectionSet.selections.length !== 1 || operation.selectionSet.selections[0]!.kind !== Kind.FIELD)
    throw invalid(file, 'the query must select exactly one root field: it is the resource');
  const variables = operation.variableDefinitions ?? [];
  const names = new Set(variables.map((v) => v.variable.name.value));
  const pathParams = [...endpointPath.matchAll(/\{([^}]+)\}/g)].map((x) => x[1]!);
  for (const p of pathParams)
    if (!names.has(p)) throw invalid(file, `path parameter {${p}} is not a variable of ${operation.name!.value}`);
  const prose = header.slice(1).map((l) => l.replace(/^#\s?/, '').trimEnd());
  return {
    domain,
    major,
    name: operation.name!.value,
    method: 'GET',
    path: endpointPath,
    pathParams,
    summary: prose[0] || operation.name!.value,
    description: prose.slice(1).join('\n').trim(),
    document: print(doc),
    operation,
    variables,
    file,
  };
}

/**
 * A major older than the domain's is deprecated from the date of the first CHANGELOG entry of a later major
 * (`## 2.0.0 (2027-01-15)`), and sunset `deprecationDays` later. Without a dated entry it is still served, without
 * dates, and the schema check fails until the entry is dated.
 */
function deprecationOf(
  domain: DomainInfo,
  major: number,
  current: number,
  deprecationDays: number,
): NonNullable<RestEndpoint['deprecation']> {
  const changelog = path.join(domain.dir, 'CHANGELOG.md');
  const text = fs.existsSync(changelog) ? fs.readFileSync(changelog, 'utf8') : '';
  const dated = [...text.matchAll(/^##\s*\[?v?(\d+)\.0\.0\]?\s*\((\d{4}-\d{2}-\d{2})\)/gm)]
    .map((m) => ({ major: Number(m[1]), date: m[2]! }))
    .filter((e) => e.major > major);
  const first = dated.sort((a, b) => a.major - b.major)[0];
  if (!first)
    return {
      successor: current,
      problem:
        `v${major} is deprecated by ${current}.0.0: date its CHANGELOG.md entry "## ${current}.0.0 ` +
        `(YYYY-MM-DD)" so clients get Deprecation and Sunset headers`,
    };
  const since = new Date(`${first.date}T00:00:00Z`);
  return {
    successor: current,
    since: since.toISOString(),
    sunset: new Date(since.getTime() + deprecationDays * 86_400_000).toISOString(),
  };
}

function invalid(file: string, message: string): MeshError {
  return new MeshError(ErrorCode.CONFIG_INVALID, `REST endpoint ${file}: ${message}`, { file });
}

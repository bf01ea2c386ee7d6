import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parse, isObjectType, buildASTSchema, type GraphQLError, type GraphQLSchema } from 'graphql';
import { composeServices } from '@apollo/composition';
import { MeshError, ErrorCode } from '../platform/index.js';

export interface SubgraphSource {
  name: string;
  url: string;
  sdl: string;
  /** Where the SDL came from, when it is a file (its folder holds the subgraph's package.json and CHANGELOG.md). */
  schemaFile?: string;
}

/** Rover's supergraph config (`supergraph.yaml`): the subgraphs with their routing URLs and schema files. */
export interface SupergraphConfig {
  federation_version?: string;
  subgraphs: Record<string, { routing_url: string; schema: { file: string } }>;
}

export function loadSupergraphConfig(file: string): SubgraphSource[] {
  const raw = parseYaml(fs.readFileSync(file, 'utf8')) as SupergraphConfig | null;
  if (!raw?.subgraphs || typeof raw.subgraphs !== 'object')
    throw new MeshError(ErrorCode.CONFIG_INVALID, `${file}: "subgraphs" is required (Rover supergraph config format)`);
  return Object.entries(raw.subgraphs).map(([name, s]) => {
    if (!s?.routing_url || !s.schema?.file)
      throw new MeshError(ErrorCode.CONFIG_INVALID, `${file}: subgraph "${name}" needs routing_url and schema.file`);
    const schemaFile = path.resolve(path.dirname(file), s.schema.file);
    if (!fs.existsSync(schemaFile))
      throw new MeshError(
        ErrorCode.CONFIG_INVALID,
        `${file}: the schema file of subgraph "${name}" does not exist: ${schemaFile}`,
      );
    return { name, url: s.routing_url, sdl: fs.readFileSync(schemaFile, 'utf8'), schemaFile };
  });
}

export interface CompositionProblem {
  code: string;
  message: string;
  locations?: string[];
}

/**
 * Composes subgraphs into a supergraph SDL (and the API schema clients see), or fails with every composition error, its
 * code and location.
 */
export function composeSupergraph(subgraphs: SubgraphSource[]): {
  supergraphSdl: string;
  hints: string[];
  apiSchema: () => GraphQLSchema;
} {
  const problems: CompositionProblem[] = [];
  const services = subgraphs.map((s) => {
    try {
      return { name: s.name, url: s.url, typeDefs: parse(s.sdl) };
    } catch (err) {
      problems.push({ code: ErrorCode.INVALID_GRAPHQL, message: `[${s.name}] ${(err as Error).message}` });
      return undefined;
    }
  });
  if (problems.length === 0) {
    const result = composeServices(services.filter((s) => s !== undefined));
    if (result.errors) problems.push(...result.errors.map(describe));
    else {
      problems.push(...piiConsistency(subgraphs));
      if (problems.length === 0)
        return {
          supergraphSdl: result.supergraphSdl,
          hints: result.hints.map((h) => h.toString()),
          apiSchema: () => result.schema.toAPISchema().toGraphQLJSSchema(),
        };
    }
  }
  throw new MeshError(
    ErrorCode.COMPOSITION_FAILED,
    `composition failed:\n${problems.map((p) => `  - [${p.code}] ${p.message}${where(p)}`).join('\n')}`,
    { problems },
  );
}

const annotation = (kind: string | null | undefined) => (kind ? `@pii(kind: "${kind}")` : 'not PII');
const where = (p: CompositionProblem) => (p.locations?.length ? ` (at ${p.locations.join(', ')})` : '');

function describe(e: GraphQLError): CompositionProblem {
  const code = (e.extensions?.code as string | undefined) ?? 'COMPOSITION_ERROR';
  const locations = (e.nodes ?? []).flatMap((n) =>
    n.loc
      ? [
          `${n.loc.source.name === 'GraphQL request' ? '' : n.loc.source.name}line ` +
            `${n.loc.startToken.line}:${n.loc.startToken.column}`,
        ]
      : [],
  );
  return { code, message: e.message, locations };
}

/**
 * Composition keeps the first subgraph's annotation of a shared field and only hints: a field must be PII everywhere or
 * nowhere.
 */
function piiConsistency(subgraphs: SubgraphSource[]): CompositionProblem[] {
  const seen = new Map<string, { subgraph: string; kind: string | null }>();
  const out: CompositionProblem[] = [];
  for (const s of subgraphs) {
    const doc = parse(s.sdl);
    for (const def of doc.definitions) {
      if ((def.kind !== 'ObjectTypeDefinition' && def.kind !== 'ObjectTypeExtension') || !def.fields) continue;
      for (const f of def.fields) {
        const key = `${def.name.value}.${f.name.value}`;
        const d = f.directives?.find((x) => x.name.value === 'pii');
        const kindArg = d?.arguments?.find((a) => a.name.value === 'kind')?.value;
        const kind = d ? (kindArg?.kind === 'StringValue' ? kindArg.value : 'pii') : null;
        const prev = seen.get(key);
        if (prev && prev.kind !== kind) {
          out.push({
            code: ErrorCode.PII_ANNOTATION_MISMATCH,
            message: `${key} is ${annotation(prev.kind)} in ${prev.subgraph} but ${annotation(kind)} in ${s.name}`,
          });
        } else if (!prev) seen.set(key, { subgraph: s.name, kind });
      }
    }
  }
  return out;
}

/** PII fields of the composed graph and the subgraph that resolves each (read from the supergraph's join__field). */
export function supergraphPiiFields(
  supergraphSdl: string,
): { type: string; field: string; kind: string; subgraph: string }[] {
  const doc = parse(supergraphSdl);
  const graphs = new Map<string, string>();
  for (const def of doc.definitions) {
    if (def.kind === 'EnumTypeDefinition' && def.name.value === 'join__Graph') {
      for (const v of def.values ?? []) {
        const name = v.directives
          ?.find((d) => d.name.value === 'join__graph')
          ?.arguments?.find((a) => a.name.value === 'name')?.value;
        if (name?.kind === 'StringValue') graphs.set(v.name.value, name.value);
      }
    }
  }
  const schema = buildASTSchema(doc, { assumeValidSDL: true });
  const out: { type: string; field: string; kind: string; subgraph: string }[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const pii = field.astNode?.directives?.find((d) => d.name.value === 'pii');
      if (!pii) continue;
      const kindArg = pii.arguments?.find((a) => a.name.value === 'kind')?.value;
      const graphArg = field.astNode?.directives
        ?.find((d) => d.name.value === 'join__field')
        ?.arguments?.find((a) => a.name.value === 'graph')?.value;
      const typeGraph = type.astNode?.directives
        ?.find((d) => d.name.value === 'join__type')
        ?.arguments?.find((a) => a.name.value === 'graph')?.value;
      const enumValue =
        graphArg?.kind === 'EnumValue' ? graphArg.value : typeGraph?.kind === 'EnumValue' ? typeGraph.value : '';
      out.push({
        type: type.name,
        field: field.name,
        kind: kindArg?.kind === 'StringValue' ? kindArg.value : 'pii',
        subgraph: graphs.get(enumValue) ?? enumValue.toLowerCase(),
      });
    }
  }
  return out;
}

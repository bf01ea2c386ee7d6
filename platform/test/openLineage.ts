import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { REPO_ROOT } from '../config.js';
import type { RunEvent } from '../openlineage.js';

/** The OpenLineage spec (vendored from the public spec, checked equal to ../shared in test/specs.test.ts). */
export const OPENLINEAGE_SPECS = path.join(REPO_ROOT, 'test', 'specs', 'openlineage');
/** Schemas of the mesh's own facets, published beside the code. */
const MESH_FACETS = path.join(REPO_ROOT, 'platform', 'facets');

/**
 * Validates events, and every facet by its `_schemaURL`, against the OpenLineage JSON Schemas and the mesh's own facet
 * schemas. A facet naming a schema neither has is an error: an unvalidated facet must not pass as valid.
 */
export function openLineageValidator(specDir = OPENLINEAGE_SPECS): (event: RunEvent) => string[] {
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  addFormats.default(ajv);
  for (const dir of [specDir, MESH_FACETS])
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json') && x !== 'registry-core.json'))
      ajv.addSchema(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
  const check = (schemaRef: string, value: unknown, where: string): string[] => {
    const validate = ajv.getSchema(schemaRef);
    if (!validate) return [`${where}: no schema ${schemaRef} to validate it against`];
    return validate(value)
      ? []
      : (validate.errors ?? []).map((e) => `${where}${e.instancePath} ${e.message} (${schemaRef})`);
  };
  return (event) => {
    const errors = check('https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent', event, 'event');
    const facets: [string, Record<string, { _schemaURL?: string }> | undefined][] = [
      ['run', event.run.facets as never],
      ['job', event.job.facets as never],
      ...event.inputs.flatMap((d, i): [string, Record<string, { _schemaURL?: string }> | undefined][] => [
        [`inputs[${i}]`, d.facets as never],
        [`inputs[${i}].inputFacets`, d.inputFacets as never],
      ]),
      ...event.outputs.map((d, i): [string, Record<string, { _schemaURL?: string }> | undefined] => [
        `outputs[${i}]`,
        d.facets as never,
      ]),
    ];
    for (const [where, map] of facets)
      for (const [name, f] of Object.entries(map ?? {}))
        errors.push(
          ...(f._schemaURL ? check(f._schemaURL, f, `${where}.${name}`) : [`${where}.${name}: no _schemaURL`]),
        );
    return errors;
  };
}

/** The events a platform wrote to its MESH_LINEAGE_FILE. */
export function eventsIn(file: string): RunEvent[] {
  return fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as RunEvent)
    : [];
}

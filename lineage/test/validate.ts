import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { RunEvent } from '../../platform/openlineage.js';

/** Validates events, and each facet whose schema the spec folder has, against the OpenLineage JSON Schemas. */
export function openLineageValidator(specDir: string): (event: RunEvent) => string[] {
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  addFormats.default(ajv);
  for (const f of fs.readdirSync(specDir).filter((x) => x.endsWith('.json') && x !== 'registry-core.json')) ajv.addSchema(JSON.parse(fs.readFileSync(path.join(specDir, f), 'utf8')));
  const check = (schemaRef: string, value: unknown, where: string): string[] => {
    const validate = ajv.getSchema(schemaRef);
    if (!validate) return [];
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${where}${e.instancePath} ${e.message} (${schemaRef})`);
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
      ...event.outputs.map((d, i): [string, Record<string, { _schemaURL?: string }> | undefined] => [`outputs[${i}]`, d.facets as never]),
    ];
    for (const [where, map] of facets) for (const [name, f] of Object.entries(map ?? {})) if (f._schemaURL) errors.push(...check(f._schemaURL, f, `${where}.${name}`));
    return errors;
  };
}

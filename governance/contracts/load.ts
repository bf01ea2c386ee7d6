import fs from 'node:fs';
import { createRequire } from 'node:module';
import { parse } from 'yaml';
import { Ajv2019, type ErrorObject } from 'ajv/dist/2019.js';
import addFormatsModule from 'ajv-formats';
import { MeshError, ErrorCode } from '../../platform/index.js';
import type { DataContract } from './types.js';

const require = createRequire(import.meta.url);
/** The Open Data Contract Standard v3.1.0 JSON Schema, as published by bitol-io. */
const ODCS_SCHEMA = require('./odcs-json-schema-v3.1.0.json') as Record<string, unknown>;
const addFormats = addFormatsModule as unknown as (ajv: Ajv2019) => void;

let validator: ReturnType<Ajv2019['compile']> | undefined;

function odcsValidator() {
  if (!validator) {
    const ajv = new Ajv2019({ allErrors: true, strict: false });
    addFormats(ajv);
    validator = ajv.compile(ODCS_SCHEMA);
  }
  return validator;
}

/** Errors of `doc` against the ODCS schema, as "path: message" lines; empty when valid. */
export function odcsErrors(doc: unknown): string[] {
  const validate = odcsValidator();
  if (validate(doc)) return [];
  return (validate.errors ?? []).map(
    (e: ErrorObject) =>
      `${e.instancePath || '/'}: ${e.message ?? 'invalid'}` +
      (e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''),
  );
}

/** Loads a contract, validates it against ODCS v3 and the platform's own rules, and names every problem. */
export function loadContract(file: string, expectedDomain?: string): DataContract {
  let doc: unknown;
  try {
    doc = parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new MeshError(ErrorCode.CONTRACT_INVALID, `${file}: cannot read contract: ${(err as Error).message}`, {
      file,
    });
  }
  const problems = odcsErrors(doc);
  if (problems.length === 0) problems.push(...platformRules(doc as DataContract, expectedDomain));
  if (problems.length > 0) {
    throw new MeshError(ErrorCode.CONTRACT_INVALID, `${file}: contract is invalid:\n  - ${problems.join('\n  - ')}`, {
      file,
      problems,
    });
  }
  return doc as DataContract;
}

/** What the platform needs beyond ODCS: a domain, a product, typed properties on every dataset. */
function platformRules(c: DataContract, expectedDomain?: string): string[] {
  const out: string[] = [];
  if (!c.domain) out.push('/domain: required by the platform');
  if (expectedDomain && c.domain !== expectedDomain)
    out.push(`/domain: is "${c.domain}" but the contract lives in domain folder "${expectedDomain}"`);
  if (!c.dataProduct) out.push('/dataProduct: required by the platform');
  if (!Array.isArray(c.schema) || c.schema.length === 0) out.push('/schema: at least one dataset is required');
  for (const [i, obj] of (c.schema ?? []).entries()) {
    if (!Array.isArray(obj.properties) || obj.properties.length === 0)
      out.push(`/schema/${i} (${obj.name}): properties are required`);
    for (const [j, p] of (obj.properties ?? []).entries()) {
      if (!p.logicalType)
        out.push(`/schema/${i}/properties/${j} (${obj.name}.${p.name}): logicalType is required by the platform`);
      if (!p.classification)
        out.push(
          `/schema/${i}/properties/${j} (${obj.name}.${p.name}): classification is required (public, internal, ` +
            `restricted, ...)`,
        );
    }
  }
  return out;
}

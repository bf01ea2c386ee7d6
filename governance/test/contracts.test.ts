import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { loadConfig } from '../../platform/config.js';
import { listDomains } from '../../platform/domains.js';
import { isMeshError } from '../../platform/errors.js';
import { loadContract, odcsErrors } from '../contracts/load.js';
import { EXPECTATIONS } from '../quality/engine.js';
import { longestGapHours, scheduleProblems } from '../contracts/schedule.js';
import type { DataContract, QualityRule } from '../contracts/types.js';
import { REPO_ROOT } from '../../platform/config.js';

/** Public specs vendored for tests (test/specs.test.ts holds them equal to ../shared where it is present). */
const SPECS = path.join(REPO_ROOT, 'test', 'specs');
const ODCS_SCHEMA = new URL('../contracts/odcs-json-schema-v3.1.0.json', import.meta.url);
import { tempDir } from '../../platform/test/helpers.js';

const domains = listDomains(loadConfig({}).domainsDir);
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => void;

describe('data contracts', () => {
  it('exist for the five domains', () => {
    expect(domains.map((d) => d.name)).toEqual(
      expect.arrayContaining(['campaigns', 'catalog', 'fulfillment', 'payments', 'sales']),
    );
  });

  it.each(domains.map((d) => [d.name, d] as const))(
    '%s: validates against the published ODCS v3.1.0 schema',
    (_name, d) => {
      const contract = loadContract(d.contractFile, d.name);
      expect(contract.domain).toBe(d.name);
      const schema = JSON.parse(fs.readFileSync(ODCS_SCHEMA, 'utf8'));
      const ajv = new Ajv2019({ allErrors: true, strict: false });
      const validate = ajv.compile(schema);
      const document = parse(fs.readFileSync(d.contractFile, 'utf8')) as Record<string, unknown>;
      const ok = validate(document);
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
      // The same validator refuses the contract with a version ODCS does not define, or without its schema's names.
      expect(validate({ ...document, apiVersion: 'v9.9.9' })).toBe(false);
      const nameless = structuredClone(document) as { schema: Record<string, unknown>[] };
      delete nameless.schema[0]!.name;
      expect(validate(nameless)).toBe(false);
    },
  );

  it('the full ODCS example contract is valid, and a broken one is rejected with the paths that are wrong', () => {
    expect(odcsErrors(parse(fs.readFileSync(path.join(SPECS, 'odcs/full-example.odcs.yaml'), 'utf8')))).toEqual([]);
    const dir = tempDir();
    const file = path.join(dir, 'contract.odcs.yaml');
    const broken = parse(fs.readFileSync(domains[0]!.contractFile, 'utf8')) as Record<string, unknown>;
    delete broken.version;
    (broken.schema as { properties: { logicalType: string }[] }[])[0]!.properties[0]!.logicalType = 'text';
    fs.writeFileSync(file, JSON.stringify(broken));
    try {
      loadContract(file);
      expect.unreachable('an invalid contract must not load');
    } catch (err) {
      expect(isMeshError(err, 'CONTRACT_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(/version/);
      expect((err as Error).message).toMatch(/logicalType|allowed/);
    }
  });

  it('a contract in the wrong domain folder is refused', () => {
    expect(() => loadContract(domains.find((d) => d.name === 'sales')!.contractFile, 'payments')).toThrow(
      /domain folder "payments"/,
    );
  });

  it('every Great Expectations rule of every contract has kwargs valid for it (GE 1.x parameter schemas)', () => {
    const rules = domains.flatMap((d) => {
      const c = parse(fs.readFileSync(d.contractFile, 'utf8')) as DataContract;
      return c.schema.flatMap((o) => [
        ...(o.quality ?? []).map((r) => ({ r, column: undefined as string | undefined })),
        ...o.properties.flatMap((p) => (p.quality ?? []).map((r) => ({ r, column: p.name as string | undefined }))),
      ]);
    });
    const ge = rules.filter(({ r }) => r.type === 'custom' && r.engine === 'great-expectations');
    expect(ge.length).toBeGreaterThan(10);
    for (const { r } of ge) expect(Object.keys(EXPECTATIONS)).toContain((r.implementation as { type: string }).type);
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    for (const { r, column } of ge) {
      const impl = r.implementation as Exclude<QualityRule['implementation'], string | undefined>;
      const schemaName =
        impl.type.replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase()).replace(/^Expect/, 'Expect') +
        '.json';
      const schema = JSON.parse(fs.readFileSync(path.join(SPECS, 'great-expectations', schemaName), 'utf8'));
      const validate = ajv.compile(schema);
      const kwargs = { ...(column ? { column } : {}), ...impl.kwargs };
      expect({ rule: impl.type, ok: validate(kwargs), errors: validate.errors ?? [] }).toEqual({
        rule: impl.type,
        ok: true,
        errors: [],
      });
      // Counter-checks with the same schema: each required argument missing, or an argument of the wrong type.
      for (const key of (schema.required ?? []) as string[]) {
        const { [key]: _missing, ...rest } = kwargs as Record<string, unknown>;
        expect(validate(rest), `${impl.type} without ${key}`).toBe(false);
      }
      expect(validate({ ...kwargs, catch_exceptions: 'yes' }), `${impl.type} with a text flag`).toBe(false);
    }
  });
});

describe('schedules against freshness', () => {
  it('every contract runs often enough to keep its freshness promise; daily with a 24 h promise is refused', () => {
    for (const d of listDomains(loadConfig({}).domainsDir))
      expect(scheduleProblems(loadContract(d.contractFile, d.name)), d.name).toEqual([]);
    const daily = {
      slaProperties: [{ property: 'freshness', value: 24, unit: 'h' }],
      customProperties: [{ property: 'schedule', value: '0 6 * * *' }],
    } as unknown as DataContract;
    expect(longestGapHours('0 6 * * *')).toBe(24);
    expect(longestGapHours('0 0,6,12,18 * * *')).toBe(6);
    expect(longestGapHours('15 9 * * 1-5')).toBe(72);
    expect(scheduleProblems(daily)).toEqual([
      expect.stringMatching(/^schedule "0 6 \* \* \*" waits up to 24 h between runs but the freshness SLO is 24 h/),
    ]);
  });
});

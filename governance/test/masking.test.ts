import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Masker } from '../masking.js';
import { loadPolicy } from '../policy.js';
import { Duck, sqlString } from '../../platform/duckdb.js';

const policy = loadPolicy().pii.masking;

describe('PII masking tokens', () => {
  it('are deterministic, keyed, and shaped by the policy', () => {
    const a = new Masker('key-one', policy);
    const b = new Masker('key-two', policy);
    expect(a.mask('ana@example.com')).toBe(a.mask('ana@example.com'));
    expect(a.mask('ana@example.com')).not.toBe(a.mask('ben@example.com'));
    expect(a.mask('ana@example.com')).not.toBe(b.mask('ana@example.com'));
    expect(a.mask('ana@example.com')).toMatch(new RegExp(`^${policy.prefix}[0-9a-f]{${policy.length}}$`));
    expect(a.mask(null)).toBeNull();
  });

  it('are identical in SQL (pipelines) and in JS (gateway) for any string and key', async () => {
    const duck = await Duck.open();
    try {
      await fc.assert(
        fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ minLength: 1, maxLength: 100 }), async (value, key) => {
          const m = new Masker(key, policy);
          const { token } = await duck.one<{ token: string }>(`SELECT ${m.sql(sqlString(value))} AS token`);
          expect(token).toBe(m.mask(value));
        }),
        { numRuns: 150 },
      );
      const { token } = await duck.one<{ token: string | null }>(`SELECT ${new Masker('k', policy).sql('NULL')} AS token`);
      expect(token).toBeNull();
    } finally {
      duck.close();
    }
  });
});

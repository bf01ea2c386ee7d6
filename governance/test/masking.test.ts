import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { Masker, columnProtection, tokenizedKinds, type ColumnProtection } from '../masking.js';
import type { ContractProperty, DataContract } from '../contracts/types.js';
import { loadPolicy } from '../policy.js';
import { Duck, sqlString } from '../../platform/duckdb.js';
import { expectedToken } from '../../platform/test/helpers.js';

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
    expect(a.mask(undefined)).toBeNull();
  });

  it('are identical in SQL (pipelines) and in JS (gateway) for any string and key', async () => {
    const duck = await Duck.open();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.string({ unit: 'grapheme', maxLength: 40 }),
          fc.string({ minLength: 1, maxLength: 100 }),
          async (value, key) => {
            const m = new Masker(key, policy);
            const { token } = await duck.one<{ token: string }>(`SELECT ${m.sql(sqlString(value))} AS token`);
            expect(token).toBe(m.mask(value));
          },
        ),
        { numRuns: 150 },
      );
      // HMAC hashes a key longer than its 64-byte block: keys either side of it, in bytes, and a key given as bytes.
      for (const key of ['k'.repeat(63), 'k'.repeat(64), 'k'.repeat(65), 'é'.repeat(40), Buffer.alloc(100, 7)]) {
        const m = new Masker(key, policy);
        const hmac = createHmac('sha256', key).update('ana').digest('hex');
        const expected = `${policy.prefix}${hmac.slice(0, policy.length)}`;
        expect(m.mask('ana')).toBe(expected);
        expect((await duck.one<{ token: string }>(`SELECT ${m.sql("'ana'")} AS token`)).token).toBe(expected);
      }
      const { token } = await duck.one<{ token: string | null }>(
        `SELECT ${new Masker('k', policy).sql('NULL')} AS token`,
      );
      expect(token).toBeNull();
    } finally {
      duck.close();
    }
  });
});

describe('column protection (per-column keys, join tokens, low-entropy kinds)', () => {
  const governance = loadPolicy();
  const contract = (customProperties: { property: string; value: unknown }[] = []) =>
    ({ dataProduct: 'shop', customProperties }) as unknown as DataContract;
  const column = (name: string, props: [string, string][] = [], classification = 'restricted') =>
    ({
      name,
      logicalType: 'string',
      classification,
      customProperties: props.map(([property, value]) => ({ property, value })),
    }) as unknown as ContractProperty;
  const token = (p: ColumnProtection, v: string) => (p.kind === 'token' ? p.masker.mask(v) : p.kind);

  it('keys each column apart (HKDF from the master key): equal values in two columns give unrelated tokens', () => {
    const a = columnProtection(
      'master',
      governance,
      contract(),
      { name: 'customers' },
      column('name', [['piiKind', 'name']]),
    );
    const b = columnProtection(
      'master',
      governance,
      contract(),
      { name: 'shipments' },
      column('recipient_name', [['piiKind', 'name']]),
    );
    expect(token(a, 'Ana Lima')).toBe(expectedToken('master', 'shop/customers.name', 'Ana Lima'));
    expect(token(a, 'Ana Lima')).not.toBe(token(b, 'Ana Lima'));
    expect(token(a, 'Ana Lima')).not.toBe(new Masker('master', governance.pii.masking).mask('Ana Lima'));
  });

  it('shares a key only between columns that declare the same joinToken', () => {
    const a = columnProtection(
      'master',
      governance,
      contract(),
      { name: 'customers' },
      column('email', [['joinToken', 'customer_email']]),
    );
    const b = columnProtection(
      'master',
      governance,
      { ...contract(), dataProduct: 'crm' } as DataContract,
      { name: 'leads' },
      column('mail', [['joinToken', 'customer_email']]),
    );
    const c = columnProtection(
      'master',
      governance,
      contract(),
      { name: 'leads' },
      column('mail', [['joinToken', 'other']]),
    );
    expect(token(a, 'ana@example.com')).toBe(token(b, 'ana@example.com'));
    expect(token(a, 'ana@example.com')).not.toBe(token(c, 'ana@example.com'));
  });

  it('denies low-entropy kinds unless the contract tokenizes them, and leaves non-PII columns alone', () => {
    expect(governance.pii.lowEntropyKinds).toEqual(expect.arrayContaining(['card', 'postcode']));
    expect(
      columnProtection(
        'master',
        governance,
        contract(),
        { name: 'payments' },
        column('card_last4', [['piiKind', 'card']]),
      ).kind,
    ).toBe('deny');
    expect(
      columnProtection(
        'master',
        governance,
        contract([{ property: 'tokenizedKinds', value: ['card'] }]),
        { name: 'payments' },
        column('card_last4', [['piiKind', 'card']]),
      ).kind,
    ).toBe('token');
    expect(
      columnProtection('master', governance, contract(), { name: 'payments' }, column('amount', [], 'internal')).kind,
    ).toBe('none');
  });

  it('reads tokenizedKinds as a list or as a comma-separated string, and nothing else', () => {
    expect(tokenizedKinds(contract([{ property: 'tokenizedKinds', value: ['card', 'postcode'] }]))).toEqual(
      new Set(['card', 'postcode']),
    );
    expect(tokenizedKinds(contract([{ property: 'tokenizedKinds', value: ' card , postcode' }]))).toEqual(
      new Set(['card', 'postcode']),
    );
    expect(tokenizedKinds(contract([{ property: 'tokenizedKinds', value: 7 }]))).toEqual(new Set());
    expect(tokenizedKinds(contract())).toEqual(new Set());
    const protect = (value: unknown) =>
      columnProtection(
        'master',
        governance,
        contract([{ property: 'tokenizedKinds', value }]),
        { name: 'payments' },
        column('postcode', [['piiKind', 'postcode']]),
      ).kind;
    expect(protect('card, postcode')).toBe('token');
    expect(protect('card')).toBe('deny');
  });
});

import { createHash, createHmac, hkdfSync } from 'node:crypto';
import {
  customProperty,
  type ContractSchemaObject,
  type ContractProperty,
  type DataContract,
} from './contracts/types.js';
import { isPiiClassification, type GovernancePolicy } from './policy.js';

/**
 * Deterministic keyed tokens for PII: HMAC-SHA256(key, value), hex, truncated. The same function exists as a DuckDB SQL
 * expression so pipelines mask in SQL and the gateway in JS with equal results.
 */
export class Masker {
  private readonly key: Buffer;
  private readonly ipadHex: string;
  private readonly opadHex: string;

  constructor(
    key: string | Buffer,
    private readonly policy: GovernancePolicy['pii']['masking'],
  ) {
    this.key = typeof key === 'string' ? Buffer.from(key) : key;
    let k = this.key;
    if (k.length > 64) k = createHash('sha256').update(k).digest();
    const block = Buffer.alloc(64);
    k.copy(block);
    this.ipadHex = Buffer.from(block.map((b) => b ^ 0x36)).toString('hex');
    this.opadHex = Buffer.from(block.map((b) => b ^ 0x5c)).toString('hex');
  }

  mask(value: string | null | undefined): string | null {
    if (value === null || value === undefined) return null;
    return this.policy.prefix + createHmac('sha256', this.key).update(value).digest('hex').slice(0, this.policy.length);
  }

  /** The same token as `mask`, as a DuckDB expression over `expr`. */
  sql(expr: string): string {
    const inner = `unhex(sha256(unhex('${this.ipadHex}') || encode(CAST(${expr} AS VARCHAR))))`;
    return `CASE WHEN ${expr} IS NULL THEN NULL ELSE '${this.policy.prefix}' || substr(sha256(unhex('${this.opadHex}')
      || ${inner}), 1, ${this.policy.length}) END`;
  }
}

/** How a column's personal data reaches roles without clear access. */
export type ColumnProtection = { kind: 'none' } | { kind: 'token'; masker: Masker } | { kind: 'deny' };

/**
 * Low-entropy kinds (card digits, postcodes) a contract lets through as tokens anyway: its `tokenizedKinds` custom
 * property. Anything else of a kind the policy lists as low-entropy is denied to roles without clear access.
 */
export function tokenizedKinds(contract: Pick<DataContract, 'customProperties'>): Set<string> {
  const v = customProperty(contract, 'tokenizedKinds');
  return new Set(Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',').map((s) => s.trim()) : []);
}

/** Whether a role that would see `kind` masked must be denied it instead, under the policy and the owning contract. */
export function deniedAsLowEntropy(
  policy: GovernancePolicy,
  contract: Pick<DataContract, 'customProperties'>,
  kind: string,
): boolean {
  return policy.pii.lowEntropyKinds.includes(kind) && !tokenizedKinds(contract).has(kind);
}

/**
 * The protection of one contract column. Tokens are keyed per data product and column (HKDF from the master key), so
 * equal values in two columns give unrelated tokens; a column that declares a `joinToken` name shares its key with
 * every column declaring the same name, which is how a contract asks for masked columns that still join.
 */
export function columnProtection(
  masterKey: string,
  policy: GovernancePolicy,
  contract: DataContract,
  object: Pick<ContractSchemaObject, 'name'>,
  property: ContractProperty,
): ColumnProtection {
  if (!isPiiClassification(policy, property.classification)) return { kind: 'none' };
  const piiKind = customProperty(property, 'piiKind');
  if (typeof piiKind === 'string' && deniedAsLowEntropy(policy, contract, piiKind)) return { kind: 'deny' };
  const join = customProperty(property, 'joinToken');
  const info =
    typeof join === 'string' ? `join:${join}` : `column:${contract.dataProduct}/${object.name}.${property.name}`;
  return { kind: 'token', masker: new Masker(maskingKey(masterKey, info), policy.pii.masking) };
}

/** HKDF-SHA256 of the master key for one token scope: knowing one column's key says nothing about another's. */
export function maskingKey(masterKey: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(masterKey), Buffer.from('mesh-masking-v1'), Buffer.from(info), 32));
}

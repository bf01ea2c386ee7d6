import { createHash, createHmac } from 'node:crypto';
import type { GovernancePolicy } from './policy.js';

/**
 * Deterministic keyed tokens for PII: HMAC-SHA256(key, value), hex, truncated.
 * The same function exists as a DuckDB SQL expression so pipelines mask in SQL and the gateway in JS with equal results.
 */
export class Masker {
  private readonly ipadHex: string;
  private readonly opadHex: string;

  constructor(
    private readonly key: string,
    private readonly policy: GovernancePolicy['pii']['masking'],
  ) {
    let k = Buffer.from(key, 'utf8');
    if (k.length > 64) k = createHash('sha256').update(k).digest();
    const block = Buffer.alloc(64);
    k.copy(block);
    this.ipadHex = Buffer.from(block.map((b) => b ^ 0x36)).toString('hex');
    this.opadHex = Buffer.from(block.map((b) => b ^ 0x5c)).toString('hex');
  }

  mask(value: string | null | undefined): string | null {
    if (value === null || value === undefined) return null;
    return this.policy.prefix + createHmac('sha256', this.key).update(value, 'utf8').digest('hex').slice(0, this.policy.length);
  }

  /** The same token as `mask`, as a DuckDB expression over `expr`. */
  sql(expr: string): string {
    const inner = `unhex(sha256(unhex('${this.ipadHex}') || encode(CAST(${expr} AS VARCHAR))))`;
    return `CASE WHEN ${expr} IS NULL THEN NULL ELSE '${this.policy.prefix}' || substr(sha256(unhex('${this.opadHex}') || ${inner}), 1, ${this.policy.length}) END`;
  }
}

/**
 * The parts of an Open Data Contract Standard v3 contract the platform reads. The full document is validated by the
 * ODCS JSON Schema.
 */

export type LogicalType =
  | 'string'
  | 'date'
  | 'timestamp'
  | 'time'
  | 'number'
  | 'integer'
  | 'object'
  | 'array'
  | 'boolean';

export interface QualityOperators {
  mustBe?: unknown;
  mustNotBe?: unknown;
  mustBeGreaterThan?: number;
  mustBeGreaterOrEqualTo?: number;
  mustBeLessThan?: number;
  mustBeLessOrEqualTo?: number;
  mustBeBetween?: [number, number];
  mustNotBeBetween?: [number, number];
}

export interface QualityRule extends QualityOperators {
  id?: string;
  name?: string;
  description?: string;
  type?: 'text' | 'library' | 'sql' | 'custom';
  severity?: string;
  dimension?: string;
  unit?: string;
  metric?: 'nullValues' | 'missingValues' | 'invalidValues' | 'duplicateValues' | 'rowCount';
  arguments?: Record<string, unknown>;
  query?: string;
  engine?: string;
  implementation?: string | { type: string; kwargs?: Record<string, unknown> };
}

export interface CustomProperty {
  property: string;
  value: unknown;
}

export interface ContractProperty {
  name: string;
  logicalType: LogicalType;
  physicalType?: string;
  description?: string;
  required?: boolean;
  unique?: boolean;
  primaryKey?: boolean;
  primaryKeyPosition?: number;
  classification?: string;
  quality?: QualityRule[];
  customProperties?: CustomProperty[];
}

export interface ContractSchemaObject {
  name: string;
  physicalName?: string;
  description?: string;
  properties: ContractProperty[];
  quality?: QualityRule[];
  customProperties?: CustomProperty[];
}

export interface SlaProperty {
  property: string;
  value: string | number | boolean;
  unit?: string;
  element?: string;
  driver?: string;
  /** For a percentile objective, the percentile (`p99`). */
  valueExt?: string | number | boolean | null;
  description?: string;
}

export interface DataContract {
  apiVersion: string;
  kind: 'DataContract';
  id: string;
  version: string;
  status: string;
  name?: string;
  domain: string;
  dataProduct: string;
  description?: { purpose?: string; usage?: string; limitations?: string };
  team?: { name?: string; description?: string; members?: { username: string; role?: string }[] };
  schema: ContractSchemaObject[];
  slaProperties?: SlaProperty[];
  customProperties?: CustomProperty[];
  tags?: string[];
}

export function customProperty(owner: { customProperties?: CustomProperty[] }, name: string): unknown {
  return owner.customProperties?.find((p) => p.property === name)?.value;
}

const HOURS_PER_UNIT: Record<string, number> = { s: 1 / 3600, m: 1 / 60, min: 1 / 60, h: 1, d: 24 };

/**
 * A duration SLA property (`freshness`, `frequency`) in hours; hours when it names no unit; undefined when absent. A
 * percentile objective of the same property (`valueExt: p99`) is not this one: see slaPercentile.
 */
export function slaHours(contract: Pick<DataContract, 'slaProperties'>, property: string): number | undefined {
  const s = contract.slaProperties?.find((p) => p.property === property && percentileOf(p) === undefined);
  return s ? Number(s.value) * (HOURS_PER_UNIT[s.unit ?? 'h'] ?? 1) : undefined;
}

/**
 * A percentile objective on a duration (`freshness` with `valueExt: p99`: 99 % of events within `value` `unit` of their
 * time), in seconds.
 */
export function slaPercentile(
  contract: Pick<DataContract, 'slaProperties'>,
  property: string,
): { quantile: number; seconds: number } | undefined {
  for (const p of contract.slaProperties ?? []) {
    const quantile = p.property === property ? percentileOf(p) : undefined;
    if (quantile !== undefined)
      return { quantile, seconds: Number(p.value) * (HOURS_PER_UNIT[p.unit ?? 'h'] ?? 1) * 3600 };
  }
  return undefined;
}

function percentileOf(p: SlaProperty): number | undefined {
  const m = /^p(\d{1,2}(?:\.\d+)?)$/.exec(String(p.valueExt ?? ''));
  return m ? Number(m[1]) / 100 : undefined;
}

export function primaryKey(object: ContractSchemaObject): string[] {
  return object.properties
    .filter((p) => p.primaryKey)
    .sort((a, b) => (a.primaryKeyPosition ?? 0) - (b.primaryKeyPosition ?? 0))
    .map((p) => p.name);
}

// Global governance, applied locally: the policy, PII masking, data contracts and the quality engine.
export { loadPolicy, isPiiClassification, type GovernancePolicy } from './policy.js';
export { Masker } from './masking.js';
export { loadContract, odcsErrors } from './contracts/load.js';
export type { DataContract, ContractSchemaObject, ContractProperty, QualityRule } from './contracts/types.js';
export { primaryKey, customProperty } from './contracts/types.js';
export { evaluateQuality, EXPECTATIONS, type QualityResult } from './quality/engine.js';

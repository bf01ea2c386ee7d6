// Governance's public module: the role policy and PII guard, contracts, masking, quality, composition, the schema
// registry.
export {
  featureAccess,
  fieldAccess,
  knownRoles,
  loadRoles,
  piiAccess,
  type FeatureAccess,
  type PiiAccess,
  type PiiFieldOwner,
  type RolePolicy,
} from './access.js';
export { composeSupergraph, loadSupergraphConfig, supergraphPiiFields, type SubgraphSource } from './composition.js';
export { loadContract } from './contracts/load.js';
export {
  featureStoreWritePrefixes,
  iamInputs,
  meshIamPolicies,
  pipelineWritePrefixes,
  terraformModule,
  type IamInputs,
  type IamPolicyDocument,
} from './iam.js';
export { longestGapHours, scheduleProblems } from './contracts/schedule.js';
export {
  customProperty,
  primaryKey,
  slaHours,
  slaPercentile,
  type ContractSchemaObject,
  type DataContract,
  type LogicalType,
} from './contracts/types.js';
export { Masker, columnProtection, deniedAsLowEntropy, maskingKey, type ColumnProtection } from './masking.js';
export { isPiiClassification, loadPolicy, type GovernancePolicy } from './policy.js';
export { evaluateQuality } from './quality/engine.js';
export { schemaChanges } from './schema-registry/changes.js';
export {
  COMPATIBILITY,
  EventSchemaRegistry,
  compatibilityProblems,
  parseEventSchema,
  valueSubject,
  type Compatibility,
  type EventSchemaVersion,
} from './schema-registry/events.js';
export { checkSchema, type CheckReport, type EventSchemaCandidate } from './schema-registry/check.js';
export { publishBaselines, publishSchema, rollbackSchema } from './schema-registry/publish.js';
export {
  SchemaRegistry,
  SUPERGRAPH_CHANNEL,
  type RecordedCheck,
  type SchemaVersionSummary,
} from './schema-registry/registry.js';
export { UsageRecorder, describeOperation } from './schema-registry/usage.js';
export { piiGuard, reversibleKinds, unauthorizedField } from './piiGuard.js';

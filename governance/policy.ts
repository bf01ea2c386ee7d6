import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT, MeshError, ErrorCode } from '../platform/index.js';

export interface GovernancePolicy {
  /** lowEntropyKinds: PII kinds a token would not hide (few possible values), denied instead of masked. */
  pii: { classifications: string[]; masking: { prefix: string; length: number }; lowEntropyKinds: string[] };
  quality: { blockingSeverities: string[] };
  /** REST endpoints of a superseded major keep answering this many days after the new major's release. */
  api: { deprecationDays: number };
}

export const POLICY_PATH = path.join(REPO_ROOT, 'governance', 'policy.yaml');

let cached: GovernancePolicy | undefined;

export function loadPolicy(file = POLICY_PATH): GovernancePolicy {
  if (file === POLICY_PATH && cached) return cached;
  const raw = parse(fs.readFileSync(file, 'utf8')) as Partial<GovernancePolicy> | null;
  const pii = raw?.pii;
  const length = pii?.masking?.length;
  if (
    !pii ||
    !Array.isArray(pii.classifications) ||
    typeof pii.masking?.prefix !== 'string' ||
    !(typeof length === 'number' && length >= 8 && length <= 64)
  ) {
    throw new MeshError(
      ErrorCode.CONFIG_INVALID,
      `${file}: pii.classifications (list), pii.masking.prefix (string) and pii.masking.length (8..64) are required`,
    );
  }
  if (
    pii.lowEntropyKinds !== undefined &&
    !(Array.isArray(pii.lowEntropyKinds) && pii.lowEntropyKinds.every((k) => typeof k === 'string'))
  ) {
    throw new MeshError(ErrorCode.CONFIG_INVALID, `${file}: pii.lowEntropyKinds must be a list of PII kinds`);
  }
  const deprecationDays = raw?.api?.deprecationDays ?? 180;
  if (!(Number.isInteger(deprecationDays) && deprecationDays >= 0))
    throw new MeshError(ErrorCode.CONFIG_INVALID, `${file}: api.deprecationDays must be a whole number of days`);
  const policy: GovernancePolicy = {
    pii: { ...(pii as GovernancePolicy['pii']), lowEntropyKinds: pii.lowEntropyKinds ?? [] },
    quality: { blockingSeverities: raw?.quality?.blockingSeverities ?? ['error'] },
    api: { deprecationDays },
  };
  if (file === POLICY_PATH) cached = policy;
  return policy;
}

export function isPiiClassification(policy: GovernancePolicy, classification: string | undefined): boolean {
  return classification !== undefined && policy.pii.classifications.includes(classification);
}

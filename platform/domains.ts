import fs from 'node:fs';
import path from 'node:path';
import { MeshError, ErrorCode } from './errors.js';

/** A domain is a folder under the domains directory holding at least a data contract. */
export interface DomainInfo {
  name: string;
  dir: string;
  /** The domain's own semver, from its package.json. */
  version: string;
  contractFile: string;
  pipelineFile: string;
  /** What its subgraph's fields read, and column lineage its SQL cannot say (`columns:`). */
  lineageFile: string;
}

export const CONTRACT_FILE = 'contract.odcs.yaml';
export const PIPELINE_FILE = 'pipeline.yaml';
export const LINEAGE_FILE = 'lineage.yaml';
/** The key of lineage.yaml under which a domain declares column lineage its pipeline SQL cannot say. */
export const DECLARED_COLUMNS = 'columns';

export function listDomains(domainsDir: string): DomainInfo[] {
  if (!fs.existsSync(domainsDir)) return [];
  return fs
    .readdirSync(domainsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(domainsDir, e.name, CONTRACT_FILE)))
    .map((e) => describe(path.join(domainsDir, e.name)))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The named domains (all when none are named); an unknown name is an error that lists the known ones. */
export function selectDomains(domainsDir: string, names: string[]): DomainInfo[] {
  const all = listDomains(domainsDir);
  if (names.length === 0) return all;
  return names.map((n) => {
    const d = all.find((x) => x.name === n);
    if (!d)
      throw new MeshError(
        ErrorCode.BAD_USER_INPUT,
        `unknown domain "${n}" (known: ${all.map((x) => x.name).join(', ') || 'none'})`,
      );
    return d;
  });
}

function describe(dir: string): DomainInfo {
  const pkgFile = path.join(dir, 'package.json');
  const version = fs.existsSync(pkgFile)
    ? String((JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { version?: string }).version ?? '0.0.0')
    : '0.0.0';
  return {
    name: path.basename(dir),
    dir,
    version,
    contractFile: path.join(dir, CONTRACT_FILE),
    pipelineFile: path.join(dir, PIPELINE_FILE),
    lineageFile: path.join(dir, LINEAGE_FILE),
  };
}

import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import {
  listDomains,
  MeshError,
  ErrorCode,
  PLATFORM_BUCKET_OWNER,
  type Platform,
  type DomainInfo,
} from '../../platform/index.js';
import { domainFiles } from './domainFiles.js';
import { rawPrefix } from '../../products/index.js';

export interface CreatedDomain {
  dir: string;
  files: string[];
  port: number;
  routingUrl: string;
}

/**
 * `mesh domain create`: writes a new domain folder and adds its subgraph to supergraph.yaml on the next free port. No
 * platform code changes: domains are discovered by folder.
 */
export function createDomain(platform: Platform, name: string, owner = `${name}-data`): CreatedDomain {
  if (!/^[a-z][a-z0-9]{1,30}$/.test(name))
    throw new MeshError(
      ErrorCode.BAD_USER_INPUT,
      `domain name "${name}" must be one lower-case word (letters and digits, 2 to 31 characters)`,
    );
  if (name === PLATFORM_BUCKET_OWNER)
    throw new MeshError(ErrorCode.BAD_USER_INPUT, `"${name}" names the platform's own bucket: choose another name`);
  const dir = path.join(platform.config.domainsDir, name);
  if (fs.existsSync(dir)) throw new MeshError(ErrorCode.BAD_USER_INPUT, `${dir} already exists`);
  const configFile = platform.config.gateway.config;
  // Edited as a YAML document so that its comments survive.
  const doc = parseDocument(fs.readFileSync(configFile, 'utf8'));
  const config = doc.toJS() as { subgraphs: Record<string, { routing_url: string; schema: { file: string } }> };
  if (config.subgraphs[name])
    throw new MeshError(ErrorCode.BAD_USER_INPUT, `${configFile} already has a subgraph "${name}"`);
  const ports = Object.values(config.subgraphs).map((s) => Number(new URL(s.routing_url).port));
  let port = 4001;
  while (ports.includes(port)) port++;

  const files = domainFiles(name, owner);
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  const routingUrl = `http://127.0.0.1:${port}/graphql`;
  const schemaFile = path.relative(path.dirname(configFile), path.join(dir, 'schema.graphql'));
  doc.setIn(
    ['subgraphs', name],
    doc.createNode({
      routing_url: routingUrl,
      schema: { file: schemaFile.startsWith('.') ? schemaFile : `./${schemaFile}` },
    }),
  );
  fs.writeFileSync(configFile, doc.toString());
  return { dir, files: Object.keys(files), port, routingUrl };
}

/** Puts the domain's sample raw data into the object store, as its source system would. */
export async function seedSample(platform: Platform, domain: DomainInfo): Promise<string[]> {
  const sampleDir = path.join(domain.dir, 'sample');
  if (!fs.existsSync(sampleDir)) throw new MeshError(ErrorCode.NOT_FOUND, `${domain.name} has no sample/ folder`);
  const keys: string[] = [];
  for (const file of fs.readdirSync(sampleDir)) {
    const key = `${rawPrefix(domain.name)}${path.parse(file).name}/${file}`;
    await platform.store.put(key, fs.readFileSync(path.join(sampleDir, file)), {
      tags: { domain: domain.name, 'data-product': path.parse(file).name, layer: 'raw' },
    });
    keys.push(key);
  }
  return keys;
}

export function findDomain(platform: Platform, name: string): DomainInfo {
  const d = listDomains(platform.config.domainsDir).find((x) => x.name === name);
  if (!d) throw new MeshError(ErrorCode.NOT_FOUND, `no domain "${name}" in ${platform.config.domainsDir}`);
  return d;
}

import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../platform/index.js';
import { tempDir } from '../../platform/test/helpers.js';
import { loadSupergraphConfig } from '../composition.js';

/**
 * A Rover supergraph.yaml for running subgraphs: their real URLs, schema files from `domainsDir` (features from the
 * repo).
 */
export function supergraphConfigFor(subgraphs: { name: string; url: string }[], domainsDir: string): string {
  const file = path.join(tempDir('mesh-supergraph-'), 'supergraph.yaml');
  // Domains from the given folder; platform subgraphs (features, metadata) from the repository's own config.
  const platformFiles = new Map(
    loadSupergraphConfig(path.join(REPO_ROOT, 'supergraph.yaml')).map((s) => [s.name, s.schemaFile!]),
  );
  const schemaFile = (name: string) =>
    fs.existsSync(path.join(domainsDir, name))
      ? path.join(domainsDir, name, 'schema.graphql')
      : platformFiles.get(name)!;
  const body = subgraphs
    .map((s) => `  ${s.name}:\n    routing_url: ${s.url}/graphql\n    schema:\n      file: ${schemaFile(s.name)}\n`)
    .join('');
  fs.writeFileSync(file, `federation_version: =2.9.0\nsubgraphs:\n${body}`);
  return file;
}

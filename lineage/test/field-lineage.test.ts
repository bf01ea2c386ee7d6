import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import { REPO_ROOT } from '../../platform/config.js';
import { listDomains } from '../../platform/domains.js';
import { loadContract } from '../../governance/contracts/load.js';
import { loadSupergraphConfig } from '../../governance/composition.js';
import { loadFieldLineage } from '../fieldLineage.js';

const subgraphs = loadSupergraphConfig(path.join(REPO_ROOT, 'supergraph.yaml'));
const lineage = loadFieldLineage(subgraphs);

describe('declared field lineage (lineage.yaml beside each schema)', () => {
  it('maps every field of every subgraph to curated columns or marks it computed', () => {
    const missing: string[] = [];
    for (const s of subgraphs) {
      for (const def of parse(s.sdl).definitions) {
        if ((def.kind !== 'ObjectTypeDefinition' && def.kind !== 'ObjectTypeExtension') || !def.fields) continue;
        for (const f of def.fields)
          if (!lineage.get(`${def.name.value}.${f.name.value}`)?.some((x) => x.subgraph === s.name))
            missing.push(`${s.name}: ${def.name.value}.${f.name.value}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("names only columns that the domains' contracts define", () => {
    const columns = new Set(
      listDomains(path.join(REPO_ROOT, 'subgraphs')).flatMap((d) =>
        loadContract(d.contractFile, d.name).schema.flatMap((o) =>
          (o.properties ?? []).map((p) => `${d.name}.${o.name}.${p.name}`),
        ),
      ),
    );
    const unknown = [...lineage.entries()].flatMap(([field, sources]) =>
      sources.flatMap((s) =>
        s.columns
          .map((c) => `${c.domain}.${c.dataset}.${c.column}`)
          .filter((c) => !columns.has(c))
          .map((c) => `${field} (${s.subgraph}): ${c}`),
      ),
    );
    expect(unknown).toEqual([]);
  });
});

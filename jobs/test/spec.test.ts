import { describe, expect, it } from 'vitest';
import { listDomains, loadConfig } from '../../platform/index.js';
import { loadContract } from '../../governance/index.js';
import { loadPipeline } from '../pipeline/spec.js';

const domains = listDomains(loadConfig({}).domainsDir);

describe("each domain's pipeline.yaml", () => {
  it.each(domains.map((d) => [d.name, d] as const))('%s: matches its contract', (_name, d) => {
    const spec = loadPipeline(d, loadContract(d.contractFile, d.name));
    expect(spec.datasets.length).toBeGreaterThan(0);
  });
});

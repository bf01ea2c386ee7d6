import { deniedAsLowEntropy, isPiiClassification } from '../../governance/index.js';
import { curatedName, datasetFiles } from '../../products/index.js';
import type { Catalog, DomainFacts } from './catalog.js';
import type { Proposals } from './proposals.js';
import {
  ownership,
  PII_TAG,
  PII_TERM,
  schemaField,
  schemaMetadata,
  upstreamLineage,
  type FieldEdge,
  type PiiMark,
} from './aspects.js';
import { dataProductUrn, datasetUrn, domainUrn, PLATFORM } from './urns.js';

/**
 * The platform, the glossary of PII handling (from policy.yaml) and a tag per PII kind, the owners, and per domain:
 * its domain, its data product and every dataset it holds, raw sources included, each with its schema, owners,
 * subtype, PII tags and terms, and curated datasets with their column lineage.
 */
export function describeData(c: Catalog, p: Proposals): void {
  // One logical platform: a data product keeps its identity whether the store is a local folder or an S3 bucket.
  p.add('dataPlatform', PLATFORM, 'dataPlatformInfo', {
    name: 'mesh',
    displayName: 'Data mesh',
    type: 'OTHERS',
    datasetNameDelimiter: '.',
  });
  describeGlossary(c, p);
  const people = new Set<string>();
  for (const d of c.domains) {
    for (const o of d.owners) people.add(o.owner);
    describeDomain(c, p, d);
  }
  for (const owner of [...people].sort())
    p.add(owner.startsWith('urn:li:corpGroup:') ? 'corpGroup' : 'corpuser', owner, 'status', { removed: false });
}

function describeGlossary(c: Catalog, p: Proposals): void {
  const { pii } = c.policy;
  const term = (name: string, definition: string) => {
    p.add('glossaryTerm', PII_TERM(name), 'glossaryTermInfo', {
      name,
      definition,
      termSource: 'INTERNAL',
      sourceRef: 'governance/policy.yaml',
    });
    p.add('glossaryTerm', PII_TERM(name), 'status', { removed: false });
  };
  for (const classification of pii.classifications)
    term(
      `classification.${classification}`,
      `ODCS classification "${classification}": personal data (policy.yaml pii.classifications).`,
    );
  term(
    'tokenized',
    `Shown to roles without clear access as a deterministic token: HMAC-SHA256 keyed per data product and column, ` +
      `"${pii.masking.prefix}" and ${pii.masking.length} characters (policy.yaml pii.masking). Equal values give ` +
      'equal tokens, so the column still groups and joins.',
  );
  term(
    'denied',
    `Withheld from roles without clear access: its kind has so few values that a token would not hide them ` +
      `(policy.yaml pii.lowEntropyKinds: ${pii.lowEntropyKinds.join(', ')}).`,
  );
  term(
    'restricted',
    'In clear, in a layer only the owning domain and admins read: the raw sources and the restricted copy of ' +
      'curated data.',
  );
  const kinds = new Set<string>();
  for (const d of c.domains)
    for (const o of d.contract.schema)
      for (const prop of o.properties) {
        const kind = piiKind(prop);
        if (kind && isPiiClassification(c.policy, prop.classification)) kinds.add(kind);
      }
  for (const kind of [...kinds].sort()) {
    p.add('tag', PII_TAG(kind), 'tagProperties', { name: `pii:${kind}`, description: `Personal data: ${kind}.` });
    p.add('tag', PII_TAG(kind), 'status', { removed: false });
  }
}

function piiKind(prop: { customProperties?: { property: string; value: unknown }[] }): string | undefined {
  const v = prop.customProperties?.find((x) => x.property === 'piiKind')?.value;
  return typeof v === 'string' ? v : undefined;
}

function describeDomain(c: Catalog, p: Proposals, d: DomainFacts): void {
  const { contract, info } = d;
  const domain = domainUrn(info.name);
  p.add('domain', domain, 'domainProperties', {
    name: info.name,
    description: contract.description?.purpose ?? '',
  });
  p.add('domain', domain, 'ownership', ownership(d.owners, c.stamp));
  const assets: string[] = [];
  const common = (urn: string, subtype: string) => {
    p.add('dataset', urn, 'subTypes', { typeNames: [subtype] });
    p.add('dataset', urn, 'domains', { domains: [domain] });
    p.add('dataset', urn, 'ownership', ownership(d.owners, c.stamp));
    assets.push(urn);
  };

  // What each raw field is, as far as the curated columns it feeds say: PII in clear is restricted.
  const rawPii = new Map<string, PiiMark>();
  for (const object of contract.schema)
    for (const prop of object.properties) {
      const kind = piiKind(prop);
      if (!kind || !isPiiClassification(c.policy, prop.classification)) continue;
      for (const col of d.lineage.get(object.name)?.columns.find((x) => x.name === prop.name)?.edges ?? [])
        if (col.type === 'DIRECT')
          rawPii.set(`${col.source}\u0000${col.field}`, {
            kind,
            classification: prop.classification!,
            handling: 'restricted',
          });
    }

  for (const source of d.pipeline.sources) {
    const name = d.raw.get(source.name)!;
    const urn = datasetUrn(name);
    // The declared fields, and every JSON path the SQL reads beyond them (`items.product_id`).
    const read = [...d.lineage.values()].flatMap((l) => [...l.columns.flatMap((x) => x.edges), ...l.dataset]);
    const fields = [
      ...new Set([...(source.columns ?? []), ...read.filter((e) => e.source === source.name).map((e) => e.field)]),
    ].filter((f) => f !== '*');
    const native = source.format === 'jsonl' ? 'JSON' : 'VARCHAR';
    p.add('dataset', urn, 'datasetProperties', {
      name,
      qualifiedName: name,
      description: `Raw ${source.format} files of the ${source.name} source (${info.name}/${source.prefix})`,
      customProperties: { layer: 'raw', format: source.format, source: source.name, key: source.key.join(',') },
    });
    p.add(
      'dataset',
      urn,
      'schemaMetadata',
      schemaMetadata(
        name,
        `${source.format}:${fields.join(',')}`,
        fields.map((f) => schemaField(f, native, { pii: rawPii.get(`${source.name}\u0000${f}`), stamp: c.stamp })),
        fields.join(', '),
      ),
    );
    common(urn, 'Raw Source');
  }

  const manifest = d.manifest;
  for (const object of contract.schema) {
    const name = curatedName(info.name, object.name);
    const urn = datasetUrn(name);
    const published = manifest?.datasets[object.name];
    const columns = published?.columns ?? object.properties.map((x) => ({ name: x.name, type: x.logicalType }));
    p.add('dataset', urn, 'datasetProperties', {
      name,
      qualifiedName: name,
      description: object.description ?? `${object.name} of the ${info.name} data product`,
      customProperties: {
        layer: 'curated',
        contractVersion: contract.version,
        ...(published
          ? { rows: String(published.rows), files: String(datasetFiles(published).length), runId: manifest!.runId }
          : {}),
      },
    });
    p.add(
      'dataset',
      urn,
      'schemaMetadata',
      schemaMetadata(
        name,
        published?.sha256 ?? `contract:${contract.version}`,
        columns.map((col) => {
          const prop = object.properties.find((x) => x.name === col.name);
          const kind = prop && piiKind(prop);
          const pii: PiiMark | undefined =
            prop && kind && isPiiClassification(c.policy, prop.classification)
              ? {
                  kind,
                  classification: prop.classification!,
                  handling: deniedAsLowEntropy(c.policy, contract, kind) ? 'denied' : 'tokenized',
                }
              : undefined;
          return schemaField(col.name, String('type' in col ? col.type : ''), {
            description: prop?.description,
            pii,
            stamp: c.stamp,
          });
        }),
        columns.map((col) => `${col.name} ${'type' in col ? col.type : ''}`).join(', '),
      ),
    );
    common(urn, 'Curated Dataset');
    const lineage = d.lineage.get(object.name);
    if (lineage) {
      // Published masked (tokenized or withheld): the curated column is no copy of its raw field.
      const pii = new Set(
        object.properties.filter((x) => isPiiClassification(c.policy, x.classification)).map((x) => x.name),
      );
      const edge = (masked: boolean) => (e: { source: string; field: string; type: string; subtype: string }) =>
        ({
          dataset: d.raw.get(e.source)!,
          field: e.field,
          type: e.type,
          subtype: e.subtype,
          masking: masked && e.type === 'DIRECT',
        }) as FieldEdge;
      p.add(
        'dataset',
        urn,
        'upstreamLineage',
        upstreamLineage(
          name,
          lineage.columns.map((col) => ({ name: col.name, edges: col.edges.map(edge(pii.has(col.name))) })),
          lineage.dataset.map(edge(false)),
          c.stamp,
        ),
      );
    }
  }

  p.add('dataProduct', dataProductUrn(contract.dataProduct), 'dataProductProperties', {
    name: contract.dataProduct,
    description: contract.description?.purpose ?? '',
    assets: assets.map((destinationUrn) => ({ destinationUrn, outputPort: destinationUrn.includes(`,${info.name}.`) })),
  });
  p.add('dataProduct', dataProductUrn(contract.dataProduct), 'domains', { domains: [domain] });
  p.add('dataProduct', dataProductUrn(contract.dataProduct), 'ownership', ownership(d.owners, c.stamp));
}

/** The entity types the mesh describes in DataHub. */
export type EntityType =
  | 'dataPlatform'
  | 'domain'
  | 'dataProduct'
  | 'dataset'
  | 'dataFlow'
  | 'dataJob'
  | 'mlFeatureTable'
  | 'mlFeature'
  | 'mlPrimaryKey'
  | 'mlModel'
  | 'mlModelGroup'
  | 'glossaryTerm'
  | 'tag'
  | 'corpuser'
  | 'corpGroup';

/** A DataHub metadata change proposal, in the shape `datahub ingest` reads from a file (aspect as `json`). */
export interface Proposal {
  entityType: EntityType;
  entityUrn: string;
  changeType: 'UPSERT';
  aspectName: string;
  aspect: { json: Record<string, unknown> };
}

/** Proposals as they are made, one per entity and aspect: a second one for the same pair is a mistake, not a merge. */
export class Proposals {
  private readonly byKey = new Map<string, Proposal>();

  add(entityType: EntityType, entityUrn: string, aspectName: string, json: Record<string, unknown>): void {
    const key = `${entityUrn}\u0000${aspectName}`;
    if (this.byKey.has(key)) throw new Error(`${aspectName} of ${entityUrn} proposed twice`);
    this.byKey.set(key, { entityType, entityUrn, changeType: 'UPSERT', aspectName, aspect: { json } });
  }

  has(entityUrn: string, aspectName: string): boolean {
    return this.byKey.has(`${entityUrn}\u0000${aspectName}`);
  }

  list(): Proposal[] {
    return [...this.byKey.values()];
  }
}

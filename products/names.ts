/**
 * Dataset names in lineage and the catalog: `<domain>.<dataset>` for curated data, `<domain>/raw/<prefix>` for sources.
 */
export const curatedName = (domain: string, dataset: string) => `${domain}.${dataset}`;
export const rawName = (domain: string, prefix: string) => `${domain}/${prefix.replace(/\/+$/, '')}`;
export const featureTableName = (table: string) => `features.${table}`;

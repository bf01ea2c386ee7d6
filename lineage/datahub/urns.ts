/** The mesh's own platform in DataHub: one logical platform for its data products, wherever the store keeps them. */
export const PLATFORM = 'urn:li:dataPlatform:mesh';
export const ENV = 'PROD';
/** DataHub's own actor, for stamps nobody in particular made. */
export const SYSTEM_ACTOR = 'urn:li:corpuser:datahub';

export const datasetUrn = (name: string) => `urn:li:dataset:(${PLATFORM},${name},${ENV})`;
export const fieldUrn = (dataset: string, field: string) => `urn:li:schemaField:(${datasetUrn(dataset)},${field})`;
export const domainUrn = (domain: string) => `urn:li:domain:${domain}`;
export const dataProductUrn = (product: string) => `urn:li:dataProduct:${product}`;
export const corpGroupUrn = (group: string) => `urn:li:corpGroup:${group}`;
export const corpUserUrn = (user: string) => `urn:li:corpuser:${user}`;
export const tagUrn = (tag: string) => `urn:li:tag:${tag}`;
export const glossaryTermUrn = (term: string) => `urn:li:glossaryTerm:${term}`;

/**
 * A domain's pipeline is the Airflow DAG `mesh schedule airflow` generates (`mesh_<domain>`): the same urn the
 * DataHub Airflow plugin gives it (orchestrator `airflow`, its default cluster `prod`), so the two never make two.
 */
export const pipelineFlowUrn = (domain: string) => `urn:li:dataFlow:(airflow,mesh_${domain},prod)`;
/** The gateway, and the training of models: flows the mesh itself runs. */
export const meshFlowUrn = (flow: 'gateway' | 'models') => `urn:li:dataFlow:(mesh,${flow},${ENV})`;
export const dataJobUrn = (flow: string, job: string) => `urn:li:dataJob:(${flow},${job})`;

export const featureTableUrn = (view: string) => `urn:li:mlFeatureTable:(${PLATFORM},${view})`;
export const featureUrn = (view: string, feature: string) => `urn:li:mlFeature:(${view},${feature})`;
export const primaryKeyUrn = (view: string, key: string) => `urn:li:mlPrimaryKey:(${view},${key})`;
export const modelUrn = (name: string) => `urn:li:mlModel:(${PLATFORM},${name},${ENV})`;
export const modelGroupUrn = (name: string) => `urn:li:mlModelGroup:(${PLATFORM},${name},${ENV})`;

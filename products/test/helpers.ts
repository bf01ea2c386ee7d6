import { Duck, readParquet, type Platform } from '../../platform/index.js';
import { curatedDatasetPaths } from '../readers.js';

/** Runs SQL over current curated (or restricted) datasets, each exposed as a view under the given name. */
export async function queryCurated<T extends Record<string, unknown>>(
  platform: Platform,
  query: string,
  tables: Record<string, [domain: string, dataset: string, layer?: 'curated' | 'restricted']>,
): Promise<T[]> {
  const duck = await Duck.open();
  try {
    for (const [name, [domain, dataset, layer]] of Object.entries(tables)) {
      await duck.run(
        `CREATE VIEW ${name} AS SELECT *
          FROM ${readParquet(await curatedDatasetPaths(platform, domain, dataset, layer))}`,
      );
    }
    return await duck.all<T>(query);
  } finally {
    duck.close();
  }
}

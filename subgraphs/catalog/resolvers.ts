import {
  defineSubgraph,
  byKey,
  listByKey,
  keysetConnection,
  type SqlRunner,
  type SubgraphContext,
  sqlString,
} from '../../products/index.js';

interface Product extends Record<string, unknown> {
  id: string;
}

const PRODUCT = `product_id AS id, sku, name, category, brand, price, currency, active`;

function loaders(db: SqlRunner) {
  return {
    product: byKey<Product>(db, { from: 'catalog.products', key: 'product_id', select: PRODUCT }),
    prices: listByKey<Record<string, unknown>>(db, {
      from: 'catalog.product_prices',
      key: 'product_id',
      select: `price, valid_from AS "validFrom", valid_to AS "validTo"`,
      orderBy: 'valid_from',
    }),
  };
}

type Ctx = SubgraphContext<ReturnType<typeof loaders>>;

export default defineSubgraph({
  loaders,
  resolvers: {
    Query: {
      product: (_: unknown, { id }: { id: string }, ctx: Ctx) => ctx.loaders.product.load(id),
      products: (_: unknown, args: { category?: string; first?: number; after?: string }, ctx: Ctx) =>
        keysetConnection<Product>(ctx.db, {
          select: PRODUCT,
          from: 'catalog.products',
          key: 'product_id',
          where: args.category ? `category = ${sqlString(args.category)}` : 'TRUE',
          first: args.first,
          after: args.after,
        }),
      categorySummary: (_: unknown, __: unknown, ctx: Ctx) =>
        ctx.db.all(`
          WITH sold AS (SELECT product_id, sum(quantity) AS units FROM sales.order_items GROUP BY product_id),
               returned AS (SELECT product_id, sum(quantity) AS units FROM sales.returns GROUP BY product_id)
          SELECT p.category, count(*) AS products, round(avg(p.price), 2) AS "avgPrice", min(p.price) AS "minPrice",
            max(p.price) AS "maxPrice",
                 coalesce(sum(s.units), 0) AS "unitsSold", round(sum(r.units) / nullif(sum(s.units), 0), 4) AS
                   "returnRate"
          FROM catalog.products p LEFT JOIN sold s USING (product_id) LEFT JOIN returned r USING (product_id)
          GROUP BY p.category ORDER BY p.category`),
    },
    Product: {
      __resolveReference: (ref: { id: string }, ctx: Ctx) => ctx.loaders.product.load(ref.id),
      priceHistory: (p: Product, _: unknown, ctx: Ctx) => ctx.loaders.prices.load(p.id),
    },
  },
});

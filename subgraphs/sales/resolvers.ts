import {
  isoDate,
  defineSubgraph,
  byKey,
  listByKey,
  pageByKey,
  decodeCursor,
  encodeCursor,
  keysetConnection,
  pageSize,
  type SqlRunner,
  type SubgraphContext,
  sqlString,
} from '../../products/index.js';

type Row = Record<string, unknown>;
interface Customer extends Row {
  id: string;
  name: string | null;
  email: string | null;
  phone: string | null;
}
interface Order extends Row {
  id: string;
  customerId: string;
  placedAt: string;
  campaignId: string | null;
}

const CUSTOMER =
  `customer_id AS id, name, email, phone, country, segment, CAST(signup_date AS VARCHAR) AS ` + `"signupDate"`;
const ORDER =
  `order_id AS id, customer_id AS "customerId", placed_at AS "placedAt", status, total, currency, ` +
  `total_eur AS "totalEur", channel, campaign_id AS "campaignId"`;

function loaders(db: SqlRunner) {
  return {
    customer: byKey<Customer>(db, { from: 'sales.customers', key: 'customer_id', select: CUSTOMER }),
    order: byKey<Order>(db, { from: 'sales.orders', key: 'order_id', select: ORDER }),
    ordersOfCustomer: pageByKey<Order>(db, {
      from: 'sales.orders',
      key: 'customer_id',
      select: ORDER,
      orderBy: 'placed_at DESC, order_id DESC',
      cursor: { fields: ['placedAt', 'id'], descending: true },
    }),
    items: listByKey<Row>(db, {
      from: 'sales.order_items',
      key: 'order_id',
      select:
        `line_no AS "lineNo", quantity, unit_price AS "unitPrice", line_total AS "lineTotal", product_id AS ` +
        `"productId"`,
      orderBy: 'line_no',
    }),
    returns: listByKey<Row>(db, {
      from: 'sales.returns',
      key: 'order_id',
      select:
        `return_id AS id, product_id AS "productId", quantity, reason, returned_at AS "returnedAt", ` +
        `refund_amount AS "refundAmount"`,
      orderBy: 'returned_at, return_id',
    }),
  };
}

type Ctx = SubgraphContext<ReturnType<typeof loaders>>;

export default defineSubgraph({
  loaders,
  resolvers: {
    Query: {
      customer: (_: unknown, { id }: { id: string }, ctx: Ctx) => ctx.loaders.customer.load(id),
      customers: (_: unknown, args: { first?: number; after?: string; country?: string }, ctx: Ctx) =>
        keysetConnection<Customer>(ctx.db, {
          select: CUSTOMER,
          from: 'sales.customers',
          key: 'customer_id',
          where: args.country ? `country = ${sqlString(args.country)}` : 'TRUE',
          first: args.first,
          after: args.after,
        }),
      order: (_: unknown, { id }: { id: string }, ctx: Ctx) => ctx.loaders.order.load(id),
      dailyRevenue: async (_: unknown, args: { from: string; to: string; category?: string }, ctx: Ctx) => {
        const from = isoDate('from', args.from);
        const to = isoDate('to', args.to);
        const category = args.category ? `AND p.category = ${sqlString(args.category)}` : '';
        return ctx.db.all(`
          SELECT CAST(CAST(o.placed_at AS DATE) AS VARCHAR) AS date, count(DISTINCT o.order_id) AS orders,
            sum(i.quantity) AS items,
                 round(sum(i.line_total * o.total_eur / nullif(o.total, 0)), 2) AS "revenueEur"
          FROM sales.orders o JOIN sales.order_items i USING (order_id)
          ${args.category ? 'JOIN catalog.products p USING (product_id)' : ''}
          WHERE o.status = 'paid' AND CAST(o.placed_at AS DATE)
            BETWEEN ${sqlString(from)} AND ${sqlString(to)} ${category}
          GROUP BY 1 ORDER BY 1`);
      },
    },
    Customer: {
      __resolveReference: (ref: { id: string }, ctx: Ctx) => ctx.loaders.customer.load(ref.id),
      name: (c: Customer, _: unknown, ctx: Ctx) => ctx.pii.reveal('customers', c.id, 'name', c.name),
      email: (c: Customer, _: unknown, ctx: Ctx) => ctx.pii.reveal('customers', c.id, 'email', c.email),
      phone: (c: Customer, _: unknown, ctx: Ctx) => ctx.pii.reveal('customers', c.id, 'phone', c.phone),
      orders: (c: Customer, args: { first?: number; after?: string }, ctx: Ctx) =>
        ctx.loaders.ordersOfCustomer.load({
          key: c.id,
          args: { first: pageSize(args.first, 10), after: decodeCursor(args.after) },
        }),
    },
    Order: {
      __resolveReference: (ref: { id: string }, ctx: Ctx) => ctx.loaders.order.load(ref.id),
      customer: (o: Order, _: unknown, ctx: Ctx) => ctx.loaders.customer.load(o.customerId),
      cursor: (o: Order) => encodeCursor([o.placedAt, o.id]),
      items: (o: Order, _: unknown, ctx: Ctx) => ctx.loaders.items.load(o.id),
      returns: (o: Order, _: unknown, ctx: Ctx) => ctx.loaders.returns.load(o.id),
      attributedCampaign: (o: Order) => (o.campaignId ? { __typename: 'Campaign', id: o.campaignId } : null),
    },
    OrderItem: { product: (i: Row) => ({ __typename: 'Product', id: i.productId }) },
    Return: { product: (r: Row) => ({ __typename: 'Product', id: r.productId }) },
  },
});

import {
  defineSubgraph,
  isoDate,
  byKey,
  pageByKey,
  decodeCursor,
  pageSize,
  keysetConnection,
  type SqlRunner,
  type SubgraphContext,
  sqlString,
} from '../../products/index.js';

type Row = Record<string, unknown>;
interface Campaign extends Row {
  id: string;
}
interface Touch extends Row {
  customerId: string;
  campaignId: string;
  orderId: string | null;
}

const CAMPAIGN =
  `campaign_id AS id, name, channel, CAST(start_date AS VARCHAR) AS "startDate", CAST(end_date AS ` +
  `VARCHAR) AS "endDate", budget_eur AS "budgetEur", target_segment AS "targetSegment"`;

function loaders(db: SqlRunner) {
  return {
    campaign: byKey<Campaign>(db, { from: 'campaigns.campaigns', key: 'campaign_id', select: CAMPAIGN }),
    touchesOfCustomer: pageByKey<Touch>(db, {
      from: 'campaigns.campaign_touches',
      key: 'customer_id',
      select:
        `touch_id AS id, customer_id AS "customerId", campaign_id AS "campaignId", channel, touched_at AS ` +
        `"touchedAt", converted, order_id AS "orderId"`,
      orderBy: 'touched_at DESC, touch_id DESC',
      cursor: { fields: ['touchedAt', 'id'], descending: true },
    }),
  };
}

type Ctx = SubgraphContext<ReturnType<typeof loaders>>;

export default defineSubgraph({
  loaders,
  resolvers: {
    Query: {
      campaign: (_: unknown, { id }: { id: string }, ctx: Ctx) => ctx.loaders.campaign.load(id),
      campaigns: (_: unknown, args: { first?: number; after?: string; channel?: string }, ctx: Ctx) =>
        keysetConnection<Campaign>(ctx.db, {
          select: CAMPAIGN,
          from: 'campaigns.campaigns',
          key: 'campaign_id',
          where: args.channel ? `channel = ${sqlString(args.channel)}` : 'TRUE',
          first: args.first,
          after: args.after,
        }),
      campaignPerformance: async (_: unknown, args: { from?: string; to?: string }, ctx: Ctx) => {
        const range = [
          args.to ? `c.start_date <= ${sqlString(isoDate('to', args.to))}` : 'TRUE',
          args.from ? `c.end_date >= ${sqlString(isoDate('from', args.from))}` : 'TRUE',
        ];
        const rows = await ctx.db.all<Row & { campaignId: string }>(`
          WITH t AS (SELECT campaign_id, count(*) AS touches, count(*) FILTER (WHERE converted) AS conversions FROM
            campaigns.campaign_touches GROUP BY campaign_id),
               o AS (SELECT campaign_id, count(*) AS orders, sum(total_eur) AS revenue FROM sales.orders WHERE status
                 = 'paid' AND campaign_id IS NOT NULL GROUP BY campaign_id)
          SELECT c.campaign_id AS "campaignId", coalesce(t.touches, 0) AS touches, coalesce(t.conversions, 0) AS
            conversions,
                 round(coalesce(t.conversions, 0) / greatest(coalesce(t.touches, 0), 1), 4) AS "conversionRate",
                 coalesce(o.orders, 0) AS "attributedOrders", round(coalesce(o.revenue, 0), 2) AS
                   "attributedRevenueEur",
                 round(coalesce(o.revenue, 0) / nullif(c.budget_eur, 0), 4) AS roas
          FROM campaigns.campaigns c LEFT JOIN t USING (campaign_id) LEFT JOIN o USING (campaign_id)
          WHERE ${range.join(' AND ')} ORDER BY "attributedRevenueEur" DESC, c.campaign_id`);
        return rows;
      },
    },
    Campaign: {
      __resolveReference: (ref: { id: string }, ctx: Ctx) => ctx.loaders.campaign.load(ref.id),
    },
    CampaignPerformance: {
      campaign: (p: { campaignId: string }, _: unknown, ctx: Ctx) => ctx.loaders.campaign.load(p.campaignId),
    },
    Customer: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      campaignTouches: (c: { id: string }, args: { first?: number; after?: string }, ctx: Ctx) =>
        ctx.loaders.touchesOfCustomer.load({
          key: c.id,
          args: { first: pageSize(args.first, 10), after: decodeCursor(args.after) },
        }),
    },
    CampaignTouch: {
      campaign: (t: Touch, _: unknown, ctx: Ctx) => ctx.loaders.campaign.load(t.campaignId),
      order: (t: Touch) => (t.orderId ? { __typename: 'Order', id: t.orderId } : null),
    },
  },
});

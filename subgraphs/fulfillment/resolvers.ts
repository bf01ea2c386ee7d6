import {
  defineSubgraph,
  isoDate,
  byKey,
  listByKey,
  keysetConnection,
  type SqlRunner,
  type SubgraphContext,
  sqlString,
} from '../../products/index.js';

interface Shipment extends Record<string, unknown> {
  id: string;
  orderId: string;
  recipientName: string | null;
  addressLine: string | null;
  postalCode: string | null;
}

const SHIPMENT =
  `shipment_id AS id, order_id AS "orderId", carrier, status, shipped_at AS "shippedAt", promised_at AS ` +
  `"promisedAt", delivered_at AS "deliveredAt",
  delay_hours AS "delayHours", is_late AS "isLate", recipient_name AS "recipientName", address_line AS ` +
  `"addressLine", postal_code AS "postalCode", city, country`;

function loaders(db: SqlRunner) {
  return {
    shipment: byKey<Shipment>(db, { from: 'fulfillment.shipments', key: 'shipment_id', select: SHIPMENT }),
    shipmentsOfOrder: listByKey<Shipment>(db, {
      from: 'fulfillment.shipments',
      key: 'order_id',
      select: SHIPMENT,
      orderBy: 'label_created_at, shipment_id',
    }),
  };
}

type Ctx = SubgraphContext<ReturnType<typeof loaders>>;

export default defineSubgraph({
  loaders,
  resolvers: {
    Query: {
      shipment: (_: unknown, { id }: { id: string }, ctx: Ctx) => ctx.loaders.shipment.load(id),
      shipments: (_: unknown, args: { first?: number; after?: string; carrier?: string; status?: string }, ctx: Ctx) =>
        keysetConnection<Shipment>(ctx.db, {
          select: SHIPMENT,
          from: 'fulfillment.shipments',
          key: 'shipment_id',
          where: [
            args.carrier ? `carrier = ${sqlString(args.carrier)}` : 'TRUE',
            args.status ? `status = ${sqlString(args.status)}` : 'TRUE',
          ].join(' AND '),
          first: args.first,
          after: args.after,
        }),
      deliveryPerformance: (_: unknown, args: { from?: string; to?: string }, ctx: Ctx) => {
        const range = [
          args.from ? `CAST(label_created_at AS DATE) >= ${sqlString(isoDate('from', args.from))}` : 'TRUE',
          args.to ? `CAST(label_created_at AS DATE) <= ${sqlString(isoDate('to', args.to))}` : 'TRUE',
        ];
        return ctx.db.all(`
          SELECT carrier, count(*) AS shipments, count(delivered_at) AS delivered, count(*) FILTER (WHERE is_late) AS
            late,
                 round(count(*) FILTER (WHERE is_late) / greatest(count(delivered_at), 1), 4) AS "lateRate",
                 round(avg(delay_hours) FILTER (WHERE is_late), 1) AS "avgDelayHours",
                 round(quantile_cont(delay_hours, 0.9), 1) AS "p90DelayHours"
          FROM fulfillment.shipments WHERE ${range.join(' AND ')} GROUP BY carrier ORDER BY carrier`);
      },
    },
    Order: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      shipments: (o: { id: string }, _: unknown, ctx: Ctx) => ctx.loaders.shipmentsOfOrder.load(o.id),
    },
    Shipment: {
      __resolveReference: (ref: { id: string }, ctx: Ctx) => ctx.loaders.shipment.load(ref.id),
      order: (s: Shipment) => ({ id: s.orderId }),
      recipientName: (s: Shipment, _: unknown, ctx: Ctx) =>
        ctx.pii.reveal('shipments', s.id, 'recipient_name', s.recipientName),
      addressLine: (s: Shipment, _: unknown, ctx: Ctx) =>
        ctx.pii.reveal('shipments', s.id, 'address_line', s.addressLine),
      postalCode: (s: Shipment, _: unknown, ctx: Ctx) => ctx.pii.reveal('shipments', s.id, 'postal_code', s.postalCode),
    },
  },
});

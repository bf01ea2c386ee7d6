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

interface Payment extends Record<string, unknown> {
  id: string;
  orderId: string;
  cardLast4: string | null;
}

const PAYMENT =
  `payment_id AS id, order_id AS "orderId", method, status, amount, refunded_amount AS "refundedAmount", ` +
  `currency, card_last4 AS "cardLast4", processor,
  authorised_at AS "authorisedAt", captured_at AS "capturedAt", failed_at AS "failedAt", failure_code AS "failureCode"`;

function loaders(db: SqlRunner) {
  return {
    payment: byKey<Payment>(db, { from: 'payments.payments', key: 'payment_id', select: PAYMENT }),
    paymentsOfOrder: listByKey<Payment>(db, {
      from: 'payments.payments',
      key: 'order_id',
      select: PAYMENT,
      orderBy: 'coalesce(authorised_at, failed_at), payment_id',
    }),
  };
}

type Ctx = SubgraphContext<ReturnType<typeof loaders>>;

export default defineSubgraph({
  loaders,
  resolvers: {
    Query: {
      payment: (_: unknown, { id }: { id: string }, ctx: Ctx) => ctx.loaders.payment.load(id),
      payments: (_: unknown, args: { first?: number; after?: string; status?: string; method?: string }, ctx: Ctx) =>
        keysetConnection<Payment>(ctx.db, {
          select: PAYMENT,
          from: 'payments.payments',
          key: 'payment_id',
          where: [
            args.status ? `status = ${sqlString(args.status)}` : 'TRUE',
            args.method ? `method = ${sqlString(args.method)}` : 'TRUE',
          ].join(' AND '),
          first: args.first,
          after: args.after,
        }),
      settlementSummary: (_: unknown, args: { from?: string; to?: string }, ctx: Ctx) => {
        const at = 'CAST(coalesce(authorised_at, failed_at) AS DATE)';
        const range = [
          args.from ? `${at} >= ${sqlString(isoDate('from', args.from))}` : 'TRUE',
          args.to ? `${at} <= ${sqlString(isoDate('to', args.to))}` : 'TRUE',
        ];
        return ctx.db.all(`
          SELECT processor, currency, count(*) AS payments,
                 coalesce(sum(amount) FILTER (WHERE captured_at IS NOT NULL), 0) AS captured,
                 sum(refunded_amount) AS refunded,
                 count(*) FILTER (WHERE status = 'failed') AS failed,
                 round(count(*) FILTER (WHERE status = 'failed') / count(*), 4) AS "failureRate"
          FROM payments.payments WHERE ${range.join(' AND ')} GROUP BY ALL ORDER BY processor, currency`);
      },
    },
    Order: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      payments: (o: { id: string }, _: unknown, ctx: Ctx) => ctx.loaders.paymentsOfOrder.load(o.id),
    },
    Payment: {
      __resolveReference: (ref: { id: string }, ctx: Ctx) => ctx.loaders.payment.load(ref.id),
      order: (p: Payment) => ({ id: p.orderId }),
      cardLast4: (p: Payment, _: unknown, ctx: Ctx) => ctx.pii.reveal('payments', p.id, 'card_last4', p.cardLast4),
    },
  },
});

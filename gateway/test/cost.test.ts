import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import { REPO_ROOT } from '../../platform/index.js';
import { composeSupergraph, loadSupergraphConfig } from '../../governance/index.js';
import { costModel, estimateCost } from '../cost.js';

const composed = composeSupergraph(loadSupergraphConfig(path.join(REPO_ROOT, 'supergraph.yaml')));
const supergraphSdl = composed.supergraphSdl;
const schema = composed.apiSchema();
const model = costModel(supergraphSdl);
const cost = (query: string, variables: Record<string, unknown> = {}) =>
  estimateCost(schema, model, parse(query), undefined, variables);
const EXAMPLE = fs.readFileSync(path.join(REPO_ROOT, 'gateway', 'examples', 'CustomerOverview.graphql'), 'utf8');

describe("operation costs from the domains' @cost and @listSize", () => {
  it('reads the declarations of every domain from the composed supergraph', () => {
    expect(model.lists.get('Query.customers')).toEqual({ slicingArguments: ['first'], sizedFields: ['edges'] });
    expect(model.lists.get('Order.items')).toEqual({ assumedSize: 4 });
    expect(model.weights.get('Query.dailyRevenue')).toBe(20);
    expect(model.weights.get('Query.deliveryPerformance')).toBe(50);
  });

  it('CustomerOverview costs what its lists hold, counted by hand', () => {
    // customer 1 + orders(first: 5) x (1 + items 4 x (1 + product 1) + shipments 2 x 1 + payments 2 x 1 +
    // attributedCampaign 1) + campaignTouches(first: 5) x (1 + campaign 1) = 1 + 5 x 14 + 5 x 2
    expect(cost(EXAMPLE)).toBe(81);
  });

  it('sizes lists by their slicing argument (literal, variable or default), connections by their edges', () => {
    expect(cost('{ customers(first: 50) { edges { node { id } } totalCount } }')).toBe(1 + 50 * (1 + 1));
    expect(cost('query($n: Int) { customers(first: $n) { edges { node { id } } } }', { n: 3 })).toBe(1 + 3 * 2);
    expect(cost('{ customers { edges { node { id } } } }')).toBe(1 + 20 * 2);
    expect(cost('{ customer(id: "c") { orders(first: 2) { id } } }')).toBe(1 + 2);
  });

  it('weighs analytical fields as declared, and leaves out what @skip and @include leave out', () => {
    expect(cost('{ dailyRevenue(from: "2026-10-01", to: "2026-10-31") { date revenueEur } }')).toBe(31 * 20);
    const skipped = 'query($all: Boolean!) { customer(id: "c") { id orders(first: 5) @include(if: $all) { id } } }';
    expect(cost(skipped, { all: false })).toBe(1);
    expect(cost(skipped, { all: true })).toBe(6);
  });

  it('counts what fragments select, a named fragment and an inline one alike', () => {
    const named = 'query { customer(id: "c") { ...O } } fragment O on Customer { orders(first: 3) { id } }';
    const inline = 'query { customer(id: "c") { ... on Customer { orders(first: 3) { id } } } }';
    expect([cost(named), cost(inline)]).toEqual([4, 4]);
  });
});

import { describe, expect, it } from 'vitest';
import { testPlatform } from '../../platform/test/helpers.js';
import { isMeshError } from '../../platform/errors.js';
import { compatibilityProblems, EventSchemaRegistry, parseEventSchema } from '../schema-registry/events.js';

const record = (...fields: Record<string, unknown>[]) =>
  parseEventSchema(JSON.stringify({ type: 'record', name: 'E', fields }), 'test');
const id = { name: 'id', type: 'string' };
const note = { name: 'note', type: ['null', 'string'], default: null };
const amount = { name: 'amount', type: 'int' };

describe('event schema compatibility (Confluent modes, by Avro schema resolution)', () => {
  it('judges each mode and names the field', () => {
    const v1 = record(id, amount);
    // A field added with a default: every mode accepts it.
    for (const mode of ['BACKWARD', 'FORWARD', 'FULL'] as const)
      expect(compatibilityProblems(record(id, amount, note), [v1], mode), mode).toEqual([]);
    // Added without a default: new consumers cannot read old events (BACKWARD); old ones ignore it (FORWARD).
    const required = record(id, amount, { name: 'channel', type: 'string' });
    expect(compatibilityProblems(required, [v1], 'BACKWARD')).toEqual([
      'backward: field "channel" is read but not written, and has no default',
    ]);
    expect(compatibilityProblems(required, [v1], 'FORWARD')).toEqual([]);
    // Removed without a default: old consumers cannot read new events (FORWARD); FULL refuses both ways.
    expect(compatibilityProblems(record(id), [v1], 'FORWARD')).toEqual([
      'forward: field "amount" is read but not written, and has no default',
    ]);
    expect(compatibilityProblems(record(id), [v1], 'BACKWARD')).toEqual([]);
    expect(compatibilityProblems(record(id), [v1], 'FULL')).toHaveLength(1);
    // int → long is a promotion a reader does; long → int is not.
    expect(compatibilityProblems(record(id, { name: 'amount', type: 'long' }), [v1], 'BACKWARD')).toEqual([]);
    expect(compatibilityProblems(v1, [record(id, { name: 'amount', type: 'long' })], 'BACKWARD')).toEqual([
      'backward: field "amount": "long" cannot be read as "int"',
    ]);
    // Transitive modes judge every earlier version, the plain ones only the latest; NONE judges nothing.
    const history = [record(id, amount), record(id)];
    const back = record(id, amount);
    expect(compatibilityProblems(back, history, 'FORWARD')).toEqual([]);
    expect(
      compatibilityProblems(record(id, { name: 'amount', type: 'string' }), history, 'FORWARD_TRANSITIVE'),
    ).toEqual(['forward: field "amount": "string" cannot be read as "int"']);
    expect(compatibilityProblems(record(id, { name: 'amount', type: 'string' }), history, 'NONE')).toEqual([]);
  });

  it('registers versions per subject and ids across subjects; the same schema again is the same version', async () => {
    const registry = new EventSchemaRegistry(testPlatform());
    const a1 = await registry.register('a-value', record(id), 'BACKWARD');
    const b1 = await registry.register('b-value', record(id), 'BACKWARD');
    expect(await registry.register('a-value', record(id), 'BACKWARD')).toEqual(a1);
    const a2 = await registry.register('a-value', record(id, note), 'BACKWARD');
    expect([a1.version, b1.version, a2.version]).toEqual([1, 1, 2]);
    expect(new Set([a1.id, b1.id, a2.id]).size).toBe(3);
    expect(await registry.byId(a2.id)).toEqual(a2);
    expect(await registry.compatibility('a-value')).toBe('BACKWARD');
    const refused = await registry
      .register('a-value', record(id, note, { name: 'channel', type: 'string' }), 'BACKWARD')
      .catch((e: unknown) => e);
    expect(isMeshError(refused, 'SCHEMA_CHECK_FAILED')).toBe(true);
    expect((refused as Error).message).toMatch(/field "channel" is read but not written/);
    expect((await registry.versions('a-value')).length).toBe(2);
  });

  it('two schemas registered at once: each is judged against the other, and one wins', async () => {
    const platform = testPlatform();
    const [first, second] = [new EventSchemaRegistry(platform), new EventSchemaRegistry(platform)];
    await first.register('a-value', record(id), 'BACKWARD');
    // Each is compatible with version 1; neither can read what the other writes (a string "note" read as an int).
    const asText = record(id, note);
    const asNumber = record(id, { name: 'note', type: ['null', 'int'], default: null });
    const outcomes = await Promise.allSettled([
      first.register('a-value', asText, 'BACKWARD'),
      second.register('a-value', asNumber, 'BACKWARD'),
    ]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(isMeshError(refused.reason, 'SCHEMA_CHECK_FAILED')).toBe(true);
    expect((refused.reason as Error).message).toMatch(/field "note"/);
    const versions = await first.versions('a-value');
    expect(versions.map((v) => v.version)).toEqual([1, 2]);
    // Every version listed resolves by its id, from another registry.
    for (const v of versions) expect(await new EventSchemaRegistry(platform).byId(v.id)).toEqual(v);
  });
});

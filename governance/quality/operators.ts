import type { QualityOperators } from '../contracts/types.js';

/** ODCS comparison operators applied to an observed metric. */
export function compareOperators(
  observed: number,
  ops: QualityOperators,
  fallback?: QualityOperators,
): { passed: boolean; expected: string } {
  const o = hasOperator(ops) ? ops : (fallback ?? {});
  if (o.mustBe !== undefined) return { passed: observed === Number(o.mustBe), expected: `= ${String(o.mustBe)}` };
  if (o.mustNotBe !== undefined)
    return { passed: observed !== Number(o.mustNotBe), expected: `≠ ${String(o.mustNotBe)}` };
  if (o.mustBeGreaterThan !== undefined)
    return { passed: observed > o.mustBeGreaterThan, expected: `> ${o.mustBeGreaterThan}` };
  if (o.mustBeGreaterOrEqualTo !== undefined)
    return { passed: observed >= o.mustBeGreaterOrEqualTo, expected: `≥ ${o.mustBeGreaterOrEqualTo}` };
  if (o.mustBeLessThan !== undefined) return { passed: observed < o.mustBeLessThan, expected: `< ${o.mustBeLessThan}` };
  if (o.mustBeLessOrEqualTo !== undefined)
    return { passed: observed <= o.mustBeLessOrEqualTo, expected: `≤ ${o.mustBeLessOrEqualTo}` };
  if (o.mustBeBetween)
    return {
      passed: observed >= o.mustBeBetween[0] && observed <= o.mustBeBetween[1],
      expected: `between ${o.mustBeBetween[0]} and ${o.mustBeBetween[1]}`,
    };
  if (o.mustNotBeBetween)
    return {
      passed: observed < o.mustNotBeBetween[0] || observed > o.mustNotBeBetween[1],
      expected: `not between ${o.mustNotBeBetween[0]} and ${o.mustNotBeBetween[1]}`,
    };
  throw new Error('quality rule has no comparison operator (mustBe, mustBeLessThan, mustBeBetween, ...)');
}

export function hasOperator(o: QualityOperators): boolean {
  return [
    'mustBe',
    'mustNotBe',
    'mustBeGreaterThan',
    'mustBeGreaterOrEqualTo',
    'mustBeLessThan',
    'mustBeLessOrEqualTo',
    'mustBeBetween',
    'mustNotBeBetween',
  ].some((k) => (o as Record<string, unknown>)[k] !== undefined);
}

/** GE-style bounds (min_value/max_value, strict_min/strict_max; either bound may be absent). */
export function checkBounds(observed: unknown, kw: Record<string, unknown>): { passed: boolean; expected: string } {
  const { min_value: min, max_value: max, strict_min: smin, strict_max: smax } = kw;
  const v = comparable(observed);
  const lo = min === undefined || min === null ? undefined : comparable(min);
  const hi = max === undefined || max === null ? undefined : comparable(max);
  const passed = v !== null && (lo == null || (smin ? v > lo : v >= lo)) && (hi == null || (smax ? v < hi : v <= hi));
  return {
    passed,
    expected: [
      ...(lo === undefined ? [] : [`${smin ? '>' : '≥'} ${String(min)}`]),
      ...(hi === undefined ? [] : [`${smax ? '<' : '≤'} ${String(max)}`]),
    ].join(' and '),
  };
}

function comparable(v: unknown): number | string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  const s = String(v);
  const n = Number(s);
  if (s.trim() !== '' && !Number.isNaN(n)) return n;
  const t = Date.parse(s);
  return Number.isNaN(t) ? s : t;
}

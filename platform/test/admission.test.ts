import { describe, expect, it } from 'vitest';
import { CostBudgets, HeavyPool } from '../admission.js';
import { isMeshError } from '../errors.js';

describe('cost budgets per caller', () => {
  it('takes each cost from its caller alone, refills at the rate, and says when to come back', () => {
    let now = 0;
    const budgets = new CostBudgets(1000, 100, () => now);
    expect(budgets.take('ana', 600)).toEqual({ ok: true, remaining: 400, retryAfterSeconds: 0 });
    // 400 left: a 600-point request must wait for 200 more, two seconds at 100 a second.
    expect(budgets.take('ana', 600)).toEqual({ ok: false, remaining: 400, retryAfterSeconds: 2 });
    // Another caller is untouched.
    expect(budgets.take('bo', 1000)).toEqual({ ok: true, remaining: 0, retryAfterSeconds: 0 });
    now = 2000;
    expect(budgets.take('ana', 600)).toEqual({ ok: true, remaining: 0, retryAfterSeconds: 0 });
    // Never more than the capacity, however long idle.
    now = 3_600_000;
    expect(budgets.take('ana', 1).remaining).toBe(999);
  });

  it('a refusal spends nothing, and a refused caller is told to wait at least a second', () => {
    let now = 0;
    const budgets = new CostBudgets(100, 1000, () => now);
    expect(budgets.take('ana', 100).ok).toBe(true);
    now = 50;
    expect(budgets.take('ana', 100)).toEqual({ ok: false, remaining: 50, retryAfterSeconds: 1 });
    now = 100;
    expect(budgets.take('ana', 100)).toEqual({ ok: true, remaining: 0, retryAfterSeconds: 0 });
  });

  it('remembers a bounded number of callers: the one idle longest is forgotten (it would be full again)', () => {
    const budgets = new CostBudgets(10, 1, () => 0, 2);
    budgets.take('a', 10);
    budgets.take('b', 10);
    budgets.take('c', 10);
    expect(budgets.take('b', 1).ok).toBe(false);
    expect(budgets.take('a', 10).ok).toBe(true);
  });
});

describe('the heavy-work pool', () => {
  it('runs at most its concurrency, hands a freed slot on to the next in line, refuses a long wait', async () => {
    const pool = new HeavyPool(1, 100);
    const first = await pool.acquire();
    const second = pool.acquire();
    const third = pool.acquire();
    expect(pool.load()).toEqual({ running: 1, waiting: 2 });
    first();
    first(); // twice is once
    const releaseSecond = await second;
    expect(pool.load()).toEqual({ running: 1, waiting: 1 });
    const refused = await third.catch((e: unknown) => e);
    expect(isMeshError(refused, 'THROTTLED')).toBe(true);
    expect((refused as { details: { retryAfterSeconds: number } }).details.retryAfterSeconds).toBe(1);
    releaseSecond();
    expect(pool.load()).toEqual({ running: 0, waiting: 0 });
  });
});

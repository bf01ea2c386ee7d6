/** ROC AUC by the rank-sum (Mann–Whitney) statistic, ties averaged. */
export function rocAuc(scores: number[], labels: number[]): number {
  const order = scores.map((s, i) => [s, labels[i]!] as const).sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && order[j]![0] === order[i]![0]) j++;
    const rank = (i + j + 1) / 2;
    for (let k = i; k < j; k++) if (order[k]![1] === 1) (rankSum += rank), positives++;
    i = j;
  }
  const negatives = order.length - positives;
  return positives === 0 || negatives === 0
    ? NaN
    : (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function logLoss(scores: number[], labels: number[]): number {
  const eps = 1e-12;
  return (
    -scores.reduce(
      (sum, p, i) => sum + (labels[i] === 1 ? Math.log(Math.max(p, eps)) : Math.log(Math.max(1 - p, eps))),
      0,
    ) / scores.length
  );
}

/** Ten equal-width bins of predicted probability: mean predicted vs observed rate; ECE is their weighted gap. */
export function calibration(
  scores: number[],
  labels: number[],
  bins = 10,
): { bins: { from: number; to: number; count: number; predicted: number; observed: number }[]; ece: number } {
  const out = Array.from({ length: bins }, (_, b) => ({
    from: b / bins,
    to: (b + 1) / bins,
    count: 0,
    predicted: 0,
    observed: 0,
  }));
  scores.forEach((p, i) => {
    const bin = out[Math.min(bins - 1, Math.floor(p * bins))]!;
    bin.count++;
    bin.predicted += p;
    bin.observed += labels[i]!;
  });
  let ece = 0;
  for (const b of out) {
    if (b.count === 0) continue;
    b.predicted /= b.count;
    b.observed /= b.count;
    ece += (b.count / scores.length) * Math.abs(b.predicted - b.observed);
  }
  return { bins: out.filter((b) => b.count > 0), ece };
}

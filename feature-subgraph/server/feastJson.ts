import { EPOCH, type FeastAnswer } from './getOnlineFeatures.js';

/**
 * Feast's response as JSON text, each value written by its feature's declared type: a Float64 that happens to be whole
 * stays `2.0`, so a client that infers types per value never sees a float column turn int. Feature values arrive as the
 * JSON the store holds: they are spliced in, never parsed and printed again.
 */
export function feastJson(answer: FeastAnswer): string {
  // The features of one view share their event-time array: its text is written once.
  const written = new Map<string[], string>();
  const timestamps = (ts: string[]) => {
    let text = written.get(ts);
    if (text === undefined) written.set(ts, (text = JSON.stringify(ts)));
    return text;
  };
  const keys = answer.keys.map((values) => {
    const epochs = `[${values.map(() => `"${EPOCH}"`).join(',')}]`;
    const json = values.map((v) => JSON.stringify(v ?? null)).join(',');
    const statuses = values.map(() => '"PRESENT"').join(',');
    return `{"values":[${json}],"statuses":[${statuses}],"event_timestamps":${epochs}}`;
  });
  const features = answer.features.map((f) => {
    const values = f.dtype === 'Float64' ? f.json.map(float).join(',') : f.json.join(',');
    // Statuses are Feast's enum names: nothing in them needs escaping.
    const statuses = f.statuses.length ? `["${f.statuses.join('","')}"]` : '[]';
    return `{"values":[${values}],"statuses":${statuses},"event_timestamps":${timestamps(f.eventTimestamps)}}`;
  });
  const errors = answer.error
    ? `,"errors":${JSON.stringify([{ code: answer.error.code, message: answer.error.message }])}`
    : '';
  const metadata = JSON.stringify({ feature_names: answer.featureNames });
  return `{"metadata":${metadata},"results":[${[...keys, ...features].join(',')}]${errors}}`;
}

/** A Float64's JSON as Feast writes it: a whole number keeps its `.0`. */
function float(json: string): string {
  return json === 'null' || json.includes('.') || json.includes('e') || json.includes('E') ? json : `${json}.0`;
}

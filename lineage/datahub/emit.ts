import type { Proposal } from './proposals.js';

/**
 * Sends proposals to DataHub GMS, one `ingestProposal` each (the Rest.li call the Python emitter makes).
 * `progress.sent` counts what GMS accepted, also when a later proposal fails.
 */
export async function emitToDataHub(
  config: { gmsUrl: string; token?: string },
  proposals: Proposal[],
  progress = { sent: 0 },
): Promise<number> {
  for (const p of proposals) {
    // UTF-8 bytes, and their count as the length: a name in any script arrives as it was written.
    const body = Buffer.from(
      JSON.stringify({
        proposal: {
          entityType: p.entityType,
          entityUrn: p.entityUrn,
          changeType: p.changeType,
          aspectName: p.aspectName,
          aspect: { value: JSON.stringify(p.aspect.json), contentType: 'application/json' },
        },
      }),
      'utf8',
    );
    const res = await fetch(`${config.gmsUrl.replace(/\/+$/, '')}/aspects?action=ingestProposal`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(body.length),
        'X-RestLi-Protocol-Version': '2.0.0',
        ...(config.token ? { authorization: `Bearer ${config.token}` } : {}),
      },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    if (!res.ok)
      throw new Error(`DataHub ${config.gmsUrl} refused ${p.aspectName} of ${p.entityUrn}: HTTP ${res.status}`);
    progress.sent++;
  }
  return progress.sent;
}

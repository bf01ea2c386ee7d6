/**
 * A domain subgraph as `mesh serve` runs it, with its graphql-shield rule tree (`shield`) or without it (`bare`): the
 * two sides of bench/gateway.ts's `shielded` and `no-shield` gateways, launched alike so that only the rule tree
 * differs. Without it the gateway still prunes denied fields before planning, so the answers are the same.
 *
 *   tsx bench/domainSubgraph.ts <domain> <port> shield|bare
 */
import './production.js';
import { selectDomains } from '../platform/index.js';
import { startSubgraph } from '../products/index.js';
import { piiGuard } from '../governance/index.js';
import { createMeshPlatform } from '../cli/platform.js';

const [name, port, mode] = [process.argv[2]!, Number(process.argv[3]), process.argv[4]];
const platform = createMeshPlatform();
const guard = piiGuard(selectDomains(platform.config.domainsDir, []));
const served = await startSubgraph(platform, selectDomains(platform.config.domainsDir, [name])[0]!, {
  port,
  guard: mode === 'bare' ? { ...guard, protect: (schema) => schema } : guard,
});
process.stdout.write(`${served.url}\n`);

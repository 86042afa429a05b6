// Composes the peer gateway's supergraph from the bolt-ons' OpenAPI contracts.
// bench/run.py sets the URLs and credentials of the simulators it started.
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

const contracts = process.env.BENCH_CONTRACTS_DIR ?? '../contracts';

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('Pricing', {
        source: `${contracts}/pricing.openapi.yaml`,
        endpoint: process.env.PRICING_URL,
        operationHeaders: { Authorization: 'Bearer {env.PRICING_TOKEN}' },
      }),
    },
    {
      sourceHandler: loadOpenAPISubgraph('Crm', {
        source: `${contracts}/crm.openapi.yaml`,
        endpoint: process.env.CRM_URL,
        operationHeaders: { 'X-Api-Key': '{env.CRM_API_KEY}' },
      }),
    },
    {
      sourceHandler: loadOpenAPISubgraph('Shipping', {
        source: `${contracts}/shipping.openapi.yaml`,
        endpoint: process.env.SHIPPING_URL,
        operationHeaders: { Authorization: 'Bearer {env.SHIPPING_TOKEN}' },
      }),
    },
  ],
});

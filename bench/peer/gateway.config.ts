// The peer gateway's runtime options. BENCH_RESPONSE_CACHE=1 turns on its
// response cache (shared by all callers: the benchmark sends no session).
import { defineConfig } from '@graphql-hive/gateway';

const cached = process.env.BENCH_RESPONSE_CACHE === '1';

export const gatewayConfig = defineConfig({
  responseCaching: cached
    ? { session: () => null, ttl: Number(process.env.BENCH_RESPONSE_CACHE_TTL_MS ?? 60000) }
    : undefined,
  logging: 'error',
});

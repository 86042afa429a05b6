// graphql-http's GraphQL-over-HTTP conformance audit against the served gateway.
import { serverAudits } from "graphql-http";
import { key, main, url } from "./common.mjs";

// The audit's requests carry no credential: add the test client's key to each.
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set("x-api-key", key);
  return fetch(input, { ...init, headers });
};

main(async () => {
  const results = [];
  for (const audit of serverAudits({ url, fetchFn })) {
    const result = await audit.fn();
    results.push({ id: audit.id, name: audit.name, status: result.status, reason: result.reason ?? null });
  }
  return { results };
});

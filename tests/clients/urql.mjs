// urql (@urql/core): a plain query with its default Accept, and @defer over multipart/mixed.
import { Client, fetchExchange, gql } from "@urql/core";
import { pipe, subscribe } from "wonka";
import { key, main, seconds, url } from "./common.mjs";

const client = new Client({
  url,
  exchanges: [fetchExchange],
  fetchOptions: { headers: { authorization: `Bearer ${key}` } },
  requestPolicy: "network-only",
});

const DEFERRED = gql`
  query Deferred {
    product(sku: "SKU-00002") {
      sku
      ... @defer { price { listPrice } }
    }
  }
`;

function results(query) {
  return new Promise((resolve, reject) => {
    const seen = [];
    const started = performance.now();
    const { unsubscribe } = pipe(
      client.query(query, {}),
      subscribe((result) => {
        if (result.error && !result.data) reject(result.error);
        seen.push({ data: result.data ?? null, hasNext: result.hasNext, at: seconds(started) });
        if (!result.hasNext) {
          unsubscribe();
          resolve(seen);
        }
      }),
    );
  });
}

main(async () => {
  const plain = await client.query(gql`{ product(sku: "SKU-00003") { sku } }`, {}).toPromise();
  return { plain: plain.data, deferred: await results(DEFERRED) };
});

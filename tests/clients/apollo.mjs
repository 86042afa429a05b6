// Apollo Client 4 against the served gateway: HttpLink, BatchHttpLink, @defer (both
// incremental handlers), GraphQLWsLink for a subscription and a deferred query.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { Defer20220824Handler, GraphQL17Alpha9Handler } from "@apollo/client/incremental";
import { BatchHttpLink } from "@apollo/client/link/batch-http";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { countingFetch, key, main, seconds, url, wsUrl } from "./common.mjs";

const headers = { authorization: `Bearer ${key}` };

function client(link, incrementalHandler) {
  return new ApolloClient({
    link,
    cache: new InMemoryCache(),
    incrementalHandler,
    clientAwareness: { name: "boltgate-tests", version: "1.0" },
  });
}

const PRODUCT = gql`
  query Product($sku: String!) {
    product(sku: $sku) { sku name }
  }
`;
const DEFERRED = gql`
  query Deferred {
    product(sku: "SKU-00001") {
      sku
      name
      ... @defer(label: "price") { price { listPrice marginPct } }
    }
  }
`;
const BROKEN = gql`
  query Broken { product(sku: 42) { sku } }
`;

/** Every emission of a watched query, with when it came. */
function emissions(apollo, query) {
  return new Promise((resolve, reject) => {
    const seen = [];
    const started = performance.now();
    const subscription = apollo
      .watchQuery({ query, fetchPolicy: "no-cache" })
      .subscribe({
        next(result) {
          seen.push({ data: result.data ?? null, dataState: result.dataState, at: seconds(started) });
          if (result.dataState === "complete") {
            subscription.unsubscribe();
            resolve(seen);
          }
        },
        error: reject,
      });
  });
}

async function batched() {
  const fetch = countingFetch();
  const apollo = client(new BatchHttpLink({ uri: url, headers, fetch, batchInterval: 20 }));
  const skus = ["SKU-00001", "SKU-00002", "SKU-00003"];
  const results = await Promise.all(
    skus.map((sku) => apollo.query({ query: PRODUCT, variables: { sku }, fetchPolicy: "no-cache" })),
  );
  return { requests: fetch.calls, skus: results.map((r) => r.data.product.sku) };
}

async function plain() {
  const apollo = client(new HttpLink({ uri: url, headers }));
  const ok = await apollo.query({ query: PRODUCT, variables: { sku: "SKU-00004" } });
  let error = null;
  try {
    await apollo.query({ query: BROKEN });
  } catch (caught) {
    error = { name: caught.name, codes: (caught.errors || []).map((e) => e.extensions?.code) };
  }
  return { sku: ok.data.product.sku, error };
}

const PLACED = gql`
  query Placed { orders(first: 1, filter: { status: PLACED }) { edges { node { orderNumber } } } }
`;
const EVENTS = gql`
  subscription Events($orderNumber: String) {
    orderEvents(orderNumber: $orderNumber) { type orderNumber status }
  }
`;
const CANCEL = gql`
  mutation Cancel($orderNumber: String!) {
    cancelOrder(input: { orderNumber: $orderNumber }) { order { status } userErrors { code } }
  }
`;

/** A subscription over GraphQLWsLink sees the event of a mutation sent over HttpLink. */
async function subscription(wsApollo) {
  const http = client(new HttpLink({ uri: url, headers }));
  const placed = await http.query({ query: PLACED, fetchPolicy: "no-cache" });
  const orderNumber = placed.data.orders.edges[0].node.orderNumber;
  const event = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no event within 20 s")), 20000);
    const watched = wsApollo.subscribe({ query: EVENTS, variables: { orderNumber } }).subscribe({
      next(result) {
        clearTimeout(timer);
        watched.unsubscribe();
        resolve(result.data.orderEvents);
      },
      error: reject,
    });
  });
  // Let the subscription reach the gateway before the write it waits for.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const cancelled = await http.mutate({ mutation: CANCEL, variables: { orderNumber } });
  return { orderNumber, mutation: cancelled.data.cancelOrder, event: await event };
}

async function websocket() {
  const ws = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { headers: { Authorization: `Bearer ${key}` } },
    lazy: true,
  });
  const apollo = client(new GraphQLWsLink(ws), new Defer20220824Handler());
  try {
    return { deferred: await emissions(apollo, DEFERRED), subscription: await subscription(apollo) };
  } finally {
    await ws.dispose();
  }
}

main(async () => ({
  plain: await plain(),
  batched: await batched(),
  defer20220824: await emissions(client(new HttpLink({ uri: url, headers }), new Defer20220824Handler()), DEFERRED),
  deferAlpha9: await emissions(client(new HttpLink({ uri: url, headers }), new GraphQL17Alpha9Handler()), DEFERRED),
  websocket: await websocket(),
}));

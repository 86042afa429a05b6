// The websocket clients on their own: graphql-ws (graphql-transport-ws) with the
// connection_init shapes its users send, and subscriptions-transport-ws (legacy graphql-ws).
import { createClient } from "graphql-ws";
import { SubscriptionClient } from "subscriptions-transport-ws";
import WebSocket from "ws";
import { key, main, wsUrl } from "./common.mjs";

const QUERY = '{ product(sku: "SKU-00001") { sku } }';

/** One query over graphql-ws; a refused connection reports its close code and reason. */
function graphqlWs(connectionParams) {
  return new Promise((resolve) => {
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams,
      retryAttempts: 0,
      lazy: true,
    });
    let settled = false;
    const done = (value) => {
      if (!settled) {
        settled = true;
        // dispose() awaits the connection attempt, which a refusal rejected.
        Promise.resolve(client.dispose()).catch(() => {});
        resolve(value);
      }
    };
    client.on("closed", (event) => done({ closed: { code: event.code, reason: event.reason } }));
    client.subscribe(
      { query: QUERY },
      {
        next: (value) => done({ data: value.data }),
        error: (error) =>
          done({ closed: error?.code ? { code: error.code, reason: error.reason } : String(error) }),
        complete: () => {},
      },
    );
  });
}

/** The same over subscriptions-transport-ws: its connection error carries the reason. */
function legacy(connectionParams) {
  return new Promise((resolve) => {
    const client = new SubscriptionClient(
      wsUrl,
      {
        connectionParams,
        reconnect: false,
        lazy: true,
        // The protocol's connection_error payload arrives here.
        connectionCallback: (error) => error && done({ error: error.message ?? String(error) }),
      },
      WebSocket,
    );
    let settled = false;
    const done = (value) => {
      if (!settled) {
        settled = true;
        client.close(true);
        resolve(value);
      }
    };
    client.onError((error) => done({ error: error?.message ?? String(error) }));
    client.request({ query: QUERY }).subscribe({
      next: (value) => done({ data: value.data }),
      error: (error) => done({ error: error?.message ?? JSON.stringify(error) }),
    });
  });
}

main(async () => ({
  graphqlWs: {
    headers: await graphqlWs({ headers: { Authorization: `Bearer ${key}` } }),
    authorization: await graphqlWs({ Authorization: `Bearer ${key}` }),
    authToken: await graphqlWs({ authToken: key }),
    wrongKey: await graphqlWs({ authToken: "gwk_wrong" }),
    none: await graphqlWs({}),
  },
  legacy: {
    authToken: await legacy({ authToken: key }),
    wrongKey: await legacy({ authToken: "gwk_wrong" }),
  },
}));

// What every client script shares: where the gateway is, its key, and how to report.
// Each script prints one JSON object on stdout; tests/clients/test_node_clients.py reads it.

export const url = process.env.GATEWAY_URL; // http://127.0.0.1:PORT/graphql
export const key = process.env.GATEWAY_KEY;
export const wsUrl = url.replace(/^http/, "ws");

if (!url || !key) {
  console.error("set GATEWAY_URL and GATEWAY_KEY");
  process.exit(2);
}

/** fetch that counts the HTTP requests a client makes (BatchHttpLink must make one). */
export function countingFetch() {
  const counted = (input, init) => {
    counted.calls += 1;
    return fetch(input, init);
  };
  counted.calls = 0;
  return counted;
}

export const seconds = (started) => (performance.now() - started) / 1000;

export function report(results) {
  process.stdout.write(JSON.stringify(results) + "\n");
}

/** Run the checks; a thrown error is reported as {error} with a non-zero exit. */
export async function main(run, { timeoutSeconds = 90 } = {}) {
  // A promise nobody settles would let node exit silently with status 0: fail loudly instead.
  setTimeout(() => {
    report({ error: `no result within ${timeoutSeconds} s` });
    process.exit(1);
  }, timeoutSeconds * 1000);
  try {
    report(await run());
    process.exit(0);
  } catch (error) {
    report({ error: String(error?.stack || error) });
    process.exit(1);
  }
}

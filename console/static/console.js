// The demo console's entry point: read what the proxy says about itself,
// then start the three panes.
import { call, describe } from "./api.js";
import { initCustomer } from "./customer.js";
import { initConnector } from "./connector.js";
import { initAgent } from "./agent.js";

async function main() {
  const mode = document.getElementById("mode");
  const res = await call("GET", "config.json");
  if (!res.ok || !res.body) {
    mode.textContent = `The console could not read its configuration: ${describe(res)}`;
    mode.className = "mode error";
    return;
  }
  const config = res.body;
  mode.textContent = config.demo
    ? `Demo mode: the proxy talks to its embedded AXP simulator (account ${config.simAccount}).`
    : "Connected to a real AXP: the agent desk is off; the connector pane needs your app's credentials.";
  initCustomer(config);
  initConnector(config);
  initAgent(config);
  document.body.dataset.ready = "true";
}

main();

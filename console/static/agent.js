// The agent desk: the simulator's agent API, reached through /demo/agent/
// (the proxy hands it to the simulator in process). The list is polled;
// cards are updated in place so that a half-typed reply keeps its text and
// its focus.
import { call, describe, el, showError } from "./api.js";

const POLL_MS = 2000;
const MAX_CARDS = 20;

// newest is the dialog an agent action targets: the newest that is not over.
function openDialog(e) {
  const open = (e.dialogs ?? []).filter((d) => d.dialogStatus !== "TERMINATED");
  return open.sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)))[0];
}

// face tells which of the proxy's faces opened the engagement: the Customer
// Channel gives every engagement its channel as a parameter; the Connector
// API does not.
function face(d) {
  const p = d.engagementParameters ?? {};
  return p.channel ? `Customer Channel · ${p.channel}` : "Messaging Connector API";
}

export function initAgent(config) {
  const $ = (id) => document.getElementById(id);
  const error = $("ag-error");
  if (!config.agentDesk) {
    $("ag-on").hidden = true;
    $("ag-off").hidden = false;
    return;
  }
  const list = $("ag-list");
  const summary = $("ag-summary");
  const name = $("ag-name");
  const auto = $("ag-auto");
  const base = `/demo/agent/accounts/${encodeURIComponent(config.simAccount)}/engagements`;
  const cards = new Map(); // engagementId → card parts

  async function act(button, verb, body) {
    const card = button.closest(".card");
    button.disabled = true;
    const res = await call("POST", `${base}/${encodeURIComponent(card.dataset.engagement)}:${verb}`, { json: body });
    button.disabled = false;
    if (!res.ok) {
      const what = { agentJoin: "Join", agentLeave: "Leave", agentMessage: "Reply", engagementError: "No agent available" }[verb];
      showError(error, `${what} failed: ${describe(res)}`);
      return false;
    }
    showError(error, "");
    await refresh();
    return true;
  }

  function newCard(id) {
    const headingID = `ag-h-${id}`;
    const inputID = `ag-r-${id}`;
    const parts = {};
    parts.title = el("h3", { id: headingID });
    parts.facts = el("p", { class: "facts" });
    parts.state = el("p", { class: "facts" });
    parts.join = el("button", { type: "button", class: "primary" }, "Join");
    parts.leave = el("button", { type: "button" }, "Leave");
    parts.noAgent = el("button", { type: "button", title: "Fires AXP's ENGAGEMENT_ERROR: the customer is told no agent is available" }, "No agent available");
    parts.input = el("input", { id: inputID, autocomplete: "off", maxlength: "4096", placeholder: "Your answer" });
    parts.whisper = el("input", { type: "checkbox" });
    parts.send = el("button", { type: "submit", class: "primary" }, "Send");
    parts.label = el("label", { for: inputID });
    parts.form = el("form", { class: "reply", novalidate: true },
      parts.label,
      el("div", { class: "composer" }, parts.input, parts.send),
      el("label", { class: "whisper" }, parts.whisper, "Whisper (only agents see it; the customer does not)"));
    parts.li = el("li", { class: "card", "data-engagement": id },
      el("article", { "aria-labelledby": headingID },
        parts.title, parts.facts, parts.state,
        el("div", { class: "row" }, parts.join, parts.leave, parts.noAgent),
        parts.form));
    parts.join.addEventListener("click", () =>
      act(parts.join, "agentJoin", { displayName: name.value.trim() || "Agent", dialogId: parts.dialogId }));
    parts.leave.addEventListener("click", () => act(parts.leave, "agentLeave", { dialogId: parts.dialogId }));
    parts.noAgent.addEventListener("click", () => act(parts.noAgent, "engagementError", {
      type: "ENGAGEMENT_CREATION_FAILED", title: "No agent available", detail: "every agent is busy", dialogId: parts.dialogId,
    }));
    parts.form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const text = parts.input.value.trim();
      if (!text) return;
      const body = { text, dialogId: parts.dialogId };
      if (parts.whisper.checked) body.customData = { whisper: "true" };
      if (await act(parts.send, "agentMessage", body)) parts.input.value = "";
    });
    return parts;
  }

  function update(parts, e, d) {
    const customer = (d.connections ?? []).find((c) => c.participantType === "CUSTOMER");
    const agents = (d.connections ?? []).filter((c) => c.participantType !== "CUSTOMER" && c.connectionState === "CONNECTED");
    const who = customer?.displayName || "Customer";
    parts.dialogId = d.dialogId;
    parts.li.dataset.customer = who;
    parts.li.dataset.dialog = d.dialogId;
    parts.title.textContent = who;
    const ref = d.engagementParameters?.refId;
    parts.facts.textContent = `${face(d)}${ref ? ` · ${ref}` : ""} · dialog ${d.dialogId.slice(0, 8)}…`;
    parts.state.textContent = agents.length
      ? `${d.dialogStatus === "ACTIVE" ? "Active" : d.dialogStatus}: ${agents.map((a) => `${a.displayName} (${a.participantType.toLowerCase()})`).join(", ")}`
      : "Waiting for an agent";
    parts.label.textContent = `Reply to ${who}`;
    const hasAgent = agents.some((a) => a.participantType === "AGENT");
    const me = name.value.trim() || "Agent";
    parts.join.disabled = agents.some((a) => a.participantType === "AGENT" && a.displayName === me);
    parts.leave.disabled = agents.length === 0;
    parts.send.disabled = !hasAgent;
    parts.input.disabled = !hasAgent;
    parts.input.placeholder = hasAgent ? "Your answer" : "Join first";
  }

  // refresh never runs twice at once: a call during one asks for another
  // pass, which the first caller's promise also waits for.
  let inflight = null;
  let again = false;
  function refresh() {
    if (inflight) {
      again = true;
      return inflight;
    }
    inflight = (async () => {
      try {
        do {
          again = false;
          await refreshOnce();
        } while (again);
      } finally {
        inflight = null;
      }
    })();
    return inflight;
  }

  async function refreshOnce() {
    const res = await call("GET", base);
    if (!res.ok || !Array.isArray(res.body)) {
      summary.textContent = `The simulator did not answer: ${describe(res)}`;
      return;
    }
    const open = [];
    for (const e of res.body) {
      const d = openDialog(e);
      if (d) open.push([e, d]);
    }
    open.sort((a, b) => String(b[1].createdAt).localeCompare(String(a[1].createdAt)));
    const shown = open.slice(0, MAX_CARDS);
    const text = shown.length === 0 ? "No open engagement: start a chat or a conversation."
      : `${open.length} open engagement${open.length === 1 ? "" : "s"}${open.length > shown.length ? ` (newest ${shown.length} shown)` : ""}`;
    if (summary.textContent !== text) summary.textContent = text;
    const keep = new Set();
    let prev = null;
    for (const [e, d] of shown) {
      keep.add(e.engagementId);
      let parts = cards.get(e.engagementId);
      if (!parts) {
        parts = newCard(e.engagementId);
        cards.set(e.engagementId, parts);
      }
      update(parts, e, d);
      const want = prev ? prev.nextSibling : list.firstChild;
      if (want !== parts.li) list.insertBefore(parts.li, want);
      prev = parts.li;
    }
    for (const [id, parts] of cards) {
      if (keep.has(id)) continue;
      if (parts.li.contains(document.activeElement)) summary.focus?.();
      parts.li.remove();
      cards.delete(id);
    }
  }

  async function loadAuto() {
    const res = await call("GET", "/demo/agent/auto-agent");
    if (res.ok) auto.setAttribute("aria-checked", String(Boolean(res.body?.enabled)));
    else showError(error, `The auto-agent switch is unavailable: ${describe(res)}`);
  }

  auto.addEventListener("click", async () => {
    const next = auto.getAttribute("aria-checked") !== "true";
    auto.disabled = true;
    const res = await call("PUT", "/demo/agent/auto-agent", { json: { enabled: next } });
    auto.disabled = false;
    if (!res.ok) {
      showError(error, `The auto-agent could not be switched: ${describe(res)}`);
      return;
    }
    showError(error, "");
    auto.setAttribute("aria-checked", String(Boolean(res.body?.enabled)));
  });
  $("ag-refresh").addEventListener("click", () => refresh());
  // The other panes say when they opened or closed something.
  document.addEventListener("console:engagements", () => refresh());

  loadAuto();
  refresh();
  // Polling pauses while the page is hidden.
  setInterval(() => {
    if (!document.hidden) refresh();
  }, POLL_MS);
}

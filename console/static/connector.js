// The connector pane: the calls a LivePerson Messaging Connector makes, each
// request and answer shown, and the notifications the console's sink
// verified, streamed from /demo/notifications.
import { call, describe, el, showError, clock, pretty, busy, changed } from "./api.js";

const CONTENT_KEY = "ms.MessagingEventNotification.ContentEvent";

// mask hides most of a token or secret in what the page shows.
function mask(s) {
  if (typeof s !== "string" || s.length <= 12) return "••••";
  return `${s.slice(0, 8)}…${s.slice(-4)}`;
}

export function initConnector(config) {
  const $ = (id) => document.getElementById(id);
  const forms = { token: $("lp-token"), consumer: $("lp-consumer"), open: $("lp-open"), send: $("lp-send") };
  const closeBtn = $("lp-close");
  const calls = $("lp-calls");
  const notes = $("lp-notes");
  const stream = $("lp-stream");
  const error = $("lp-error");
  const submit = (f) => f.querySelector("button[type=submit]");

  $("lp-account").value = config.account ?? "";
  $("lp-client-id").value = config.clientId ?? "";
  $("lp-client-secret").value = config.clientSecret ?? "";
  $("lp-ext-id").value = `customer-${Math.random().toString(36).slice(2, 8)}`;
  if (!config.notifications) {
    $("lp-notes-hint").textContent =
      "No app's webhooks point at this console: point one at /demo/hooks/{webhook key} to see its notifications here.";
  }

  const state = { account: "", appJwt: "", jws: "", conversationId: "", reqId: 0 };

  function enable() {
    submit(forms.consumer).disabled = !state.appJwt;
    submit(forms.open).disabled = !state.jws;
    submit(forms.send).disabled = !state.conversationId;
    closeBtn.disabled = !state.conversationId;
  }

  // record shows one exchange; secrets and tokens are shortened.
  function record(res, label) {
    const headers = { ...res.headers };
    for (const h of ["Authorization", "X-LP-ON-BEHALF"]) if (headers[h]) headers[h] = mask(headers[h]);
    let sent = res.sent;
    if (sent && typeof sent === "object" && "client_secret" in sent) sent = { ...sent, client_secret: mask(sent.client_secret) };
    const shownURL = res.url.replace(/client_secret=[^&]*/, "client_secret=••••");
    const ok = res.ok && !describeBatch(res);
    const item = el("li", {},
      el("details", {},
        el("summary", {},
          el("span", { class: ok ? "status-ok" : "status-bad" }, `${res.status || "—"}`), " ",
          `${label}: ${res.method} ${shownURL.replace(/\?.*/, "")}`,
          el("span", { class: "muted small" }, ` · ${res.ms} ms`)),
        el("p", { class: "small muted" }, "Request"),
        el("pre", {}, `${res.method} ${shownURL}\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join("\n")}` +
          (sent !== undefined ? `\n\n${pretty(sent)}` : "")),
        el("p", { class: "small muted" }, "Answer"),
        el("pre", {}, `${res.status} ${res.statusText ?? ""}\n\n${pretty(res.body ?? res.text)}`)));
    calls.prepend(item);
  }

  // describeBatch finds a failed answer inside a 200 batch (CONVERSATION
  // answers each request of the batch on its own).
  function describeBatch(res) {
    if (!Array.isArray(res.body)) return "";
    const bad = res.body.find((r) => r && r.code !== "OK" && r.code !== 200);
    return bad ? describe({ ...res, status: Number(bad.code) || res.status, body: bad }) : "";
  }

  async function step(button, label, request, onOK) {
    const res = await busy(button, request);
    record(res, label);
    const failure = !res.ok ? describe(res) : describeBatch(res);
    if (failure) {
      showError(error, `${label} failed: ${failure}`);
      enable();
      return;
    }
    showError(error, "");
    onOK(res);
    enable();
  }

  function result(id, message) {
    const p = $(id);
    p.textContent = message;
    p.className = "result ok";
  }

  function authHeaders() {
    return { Authorization: state.appJwt, "X-LP-ON-BEHALF": state.jws };
  }

  function base() {
    return `/api/account/${encodeURIComponent(state.account)}/messaging/consumer/conversation`;
  }

  forms.token.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!forms.token.reportValidity()) return;
    const account = $("lp-account").value.trim();
    step(submit(forms.token), "AppJWT",
      () => call("POST", `/sentinel/api/account/${encodeURIComponent(account)}/app/token?v=1.0&grant_type=client_credentials`, {
        form: { client_id: $("lp-client-id").value.trim(), client_secret: $("lp-client-secret").value },
      }),
      (res) => {
        Object.assign(state, { account, appJwt: res.body.access_token, jws: "", conversationId: "" });
        result("lp-token-result", `AppJWT ${mask(state.appJwt)}, valid ${Math.round(res.body.expires_in / 60)} minutes`);
      });
  });

  forms.consumer.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!forms.consumer.reportValidity()) return;
    step(submit(forms.consumer), "ConsumerJWS",
      () => call("POST", `/api/account/${encodeURIComponent(state.account)}/consumer?v=1.0`, {
        json: { ext_consumer_id: $("lp-ext-id").value.trim() }, headers: { Authorization: state.appJwt },
      }),
      (res) => {
        Object.assign(state, { jws: res.body.token, conversationId: "" });
        result("lp-consumer-result", `ConsumerJWS ${mask(state.jws)}`);
      });
  });

  forms.open.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const personal = { firstname: $("lp-first").value.trim(), lastname: $("lp-last").value.trim() };
    const batch = [
      { kind: "req", id: String(++state.reqId), type: "userprofile.SetUserProfile",
        body: { authenticatedData: { lp_sdes: [{ type: "personal", personal }] } } },
      { kind: "req", id: String(++state.reqId), type: "cm.ConsumerRequestConversation", body: { brandId: state.account } },
    ];
    step(submit(forms.open), "CONVERSATION", () => call("POST", `${base()}?v=3`, { json: batch, headers: authHeaders() }),
      (res) => {
        const answer = res.body.find((r) => r?.body?.conversationId);
        state.conversationId = answer.body.conversationId;
        result("lp-open-result", `Conversation ${state.conversationId}`);
        changed();
      });
  });

  forms.send.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("lp-text");
    const message = input.value.trim();
    if (!message) return;
    const env = { kind: "req", id: String(++state.reqId), type: "ms.PublishEvent",
      body: { dialogId: state.conversationId, event: { type: "ContentEvent", contentType: "text/plain", message } } };
    step(submit(forms.send), "SEND", () => call("POST", `${base()}/send?v=3`, { json: env, headers: authHeaders() }),
      (res) => {
        input.value = "";
        result("lp-send-result", `Sent “${message}” (sequence ${res.body?.body?.sequence ?? "?"})`);
      });
  });

  closeBtn.addEventListener("click", () => {
    const env = { kind: "req", id: String(++state.reqId), type: "cm.UpdateConversationField",
      body: { conversationId: state.conversationId, conversationField: { field: "ConversationStateField", conversationState: "CLOSE" } } };
    const closing = state.conversationId;
    step(closeBtn, "CLOSE", () => call("POST", `${base()}/send?v=3`, { json: env, headers: authHeaders() }),
      () => {
        state.conversationId = "";
        result("lp-send-result", `Conversation ${closing} closed`);
        changed();
      });
  });

  enable();
  listen();

  // The notification stream. EventSource reconnects by itself and sends
  // Last-Event-ID, so what arrived in between is replayed.
  function listen() {
    const es = new EventSource("/demo/notifications");
    const setStream = (label, kind) => {
      stream.textContent = label;
      stream.className = `badge ${kind}`;
    };
    es.addEventListener("ready", () => setStream("live", "ok"));
    es.addEventListener("error", () => setStream(es.readyState === EventSource.CLOSED ? "closed" : "reconnecting…", "bad"));
    es.addEventListener("notification", (ev) => {
      let n;
      try {
        n = JSON.parse(ev.data);
      } catch {
        return;
      }
      for (const item of render(n)) notes.prepend(item);
    });
  }

  // render turns one webhook POST into list items, one per change.
  function render(n) {
    const changes = n.body?.body?.changes ?? [];
    const items = [];
    for (const ch of changes.length ? changes : [null]) {
      let what;
      let conversationId = "";
      let kind = "";
      if (n.key === CONTENT_KEY && ch?.event) {
        conversationId = ch.conversationId ?? "";
        const role = ch.originatorMetadata?.role ?? "agent";
        what = `${role === "CONTROLLER" ? "System" : role === "MANAGER" ? "Supervisor" : "Agent"} (${role}): “${ch.event.message ?? ""}”`;
      } else if (ch?.result) {
        conversationId = ch.result.convId ?? "";
        kind = "change";
        const d = ch.result.conversationDetails ?? {};
        const agents = (d.participants ?? []).filter((p) => p.role !== "CONSUMER").map((p) => p.role).join(", ");
        what = `Conversation ${d.state ?? "?"}${d.closeReason ? ` (closed by ${d.closeReason})` : ""}${agents ? ` · participants: ${agents}` : ""}`;
      } else {
        what = n.key;
      }
      const mine = conversationId && conversationId === state.conversationId;
      items.push(el("li", { class: `note ${kind}`, "data-key": n.key, "data-conversation": conversationId, "data-verified": n.verified ? "true" : "false" },
        el("p", { class: "what" }, what),
        el("p", { class: "meta" },
          n.verified ? el("span", { class: "verified" }, "✓ signature verified") : "unverified", " · ",
          `${n.key.replace(/^.*?\./, "")} · ${clock(n.receivedAt)}`,
          conversationId ? ` · ${mine ? "this conversation" : `conversation ${conversationId.slice(0, 8)}…`}` : ""),
        el("details", {}, el("summary", {}, "Body"), el("pre", {}, pretty(n.body)))));
    }
    return items;
  }
}

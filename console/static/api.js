// HTTP helpers shared by the panes: one call, its answer parsed, and the
// proxy's error bodies (every face has its own) turned into a sentence.

// call sends a request and never throws: network failures come back as
// status 0. json: a value sent as JSON; form: an object sent as
// application/x-www-form-urlencoded.
export async function call(method, url, { json, form, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  let sent;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
    sent = json;
  } else if (form !== undefined) {
    init.headers["Content-Type"] = "application/x-www-form-urlencoded";
    init.body = new URLSearchParams(form).toString();
    sent = form;
  }
  const started = performance.now();
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    return { method, url, headers: init.headers, sent, status: 0, ok: false, body: null, text: String(err), ms: 0 };
  }
  const text = await res.text();
  let body = null;
  if (text && (res.headers.get("content-type") ?? "").includes("json")) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  return {
    method, url, headers: init.headers, sent,
    status: res.status, statusText: res.statusText, ok: res.ok, body, text,
    ms: Math.round(performance.now() - started),
  };
}

const STATUS_WORDS = {
  0: "The proxy cannot be reached",
  400: "The request was refused as malformed",
  401: "Not authorised",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict",
  413: "Too large",
  415: "Unsupported content type",
  429: "Too many requests; try again shortly",
  500: "The proxy failed",
  502: "The contact center refused the proxy",
  503: "Temporarily unavailable; try again shortly",
};

// describe turns an answer into one readable sentence, whichever face sent
// it: the Connector API's LivePerson body (also inside a batch), the
// Customer Channel's {status, code, message}, AXP's RFC 7807 problems,
// OAuth's {error, error_description} and the console's {error}.
export function describe(res) {
  const b = res.body;
  const lead = STATUS_WORDS[res.status] ?? `HTTP ${res.status}`;
  if (res.status === 0) return `${lead}: ${res.text}`;
  if (Array.isArray(b)) {
    const bad = b.find((r) => r && r.code !== "OK" && r.code !== 200);
    if (bad) return describe({ ...res, status: Number(bad.code) || res.status, body: bad });
  }
  if (b && typeof b === "object") {
    if (b.body && typeof b.body === "object" && (b.body.title || b.body.details)) {
      const e = b.body;
      let s = e.title ?? lead;
      if (e.details && e.details !== e.title) s += `: ${e.details}`;
      if (e.field) s += ` (field ${e.field})`;
      if (e.errorCode) s += ` [${e.errorCode}]`;
      return s;
    }
    if (typeof b.message === "string") return b.code ? `${b.message} (${b.code})` : b.message;
    if (typeof b.error_description === "string") return `${lead}: ${b.error_description}`;
    if (typeof b.title === "string") {
      let s = b.title;
      if (b.detail) s += `: ${b.detail}`;
      if (Array.isArray(b.violations) && b.violations.length) {
        s += " — " + b.violations.map((v) => `${v.field} ${v.message}`).join("; ");
      }
      return s;
    }
    if (typeof b.error === "string") return b.error;
  }
  const text = (res.text ?? "").trim();
  return text && text.length < 200 && !text.startsWith("<") ? `${lead}: ${text}` : lead;
}

// el builds an element: el("p", {class: "x"}, "text", child…). Text is
// always set as text, never parsed as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

// showError puts a message in an alert element (role="alert"), or hides it.
export function showError(node, message) {
  node.textContent = message ?? "";
  node.hidden = !message;
}

// clock formats a timestamp (ISO string or epoch ms) as the local time.
export function clock(t) {
  const d = typeof t === "number" ? new Date(t) : new Date(t ?? Date.now());
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

// pretty is JSON for reading.
export function pretty(v) {
  if (v === undefined) return "";
  if (typeof v === "string") {
    try {
      return JSON.stringify(JSON.parse(v), null, 2);
    } catch {
      return v;
    }
  }
  return JSON.stringify(v, null, 2);
}

// busy disables a form's submit button while work runs.
export async function busy(button, work) {
  const was = button.disabled;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.removeAttribute("aria-busy");
    button.disabled = was;
  }
}

// changed tells the agent desk that an engagement opened or closed.
export function changed() {
  document.dispatchEvent(new Event("console:engagements"));
}

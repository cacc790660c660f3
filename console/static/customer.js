// The customer pane: a web chat widget on the Customer Channel face.
// POST /api/customer/init, then Socket.IO: joinConversation, sendMessage,
// messageArrived, conversationInfo, endConversation (PAYLOADS.md of
// adapters/customerchannel has every payload).
import { io } from "./socketio.js";
import { call, describe, el, showError, clock, busy, changed } from "./api.js";

// What a widget tells its customer for each socket error code.
const SOCKET_ERRORS = {
  BAD_PAYLOAD: "The proxy did not understand that message.",
  CONVERSATION_NOT_FOUND: "This conversation no longer exists. Start a new one.",
  WRONG_PARTICIPANT: "This browser is not the conversation's customer.",
  NOT_JOINED: "Not joined to the conversation yet; wait a moment and try again.",
  CONVERSATION_ENDED: "The conversation has ended.",
  UNAVAILABLE: "The contact center cannot be reached right now. Try again in a moment.",
  BACKEND_ERROR: "The contact center refused the request.",
};

function socketError(e) {
  if (!e || typeof e !== "object") return "Something went wrong.";
  const known = SOCKET_ERRORS[e.code];
  if (known && e.code === "BACKEND_ERROR" && e.message) return `${known} (${e.message})`;
  return known ?? e.message ?? "Something went wrong.";
}

const END_REASONS = {
  USER_CLOSED: "You ended the conversation.",
  USER_INACTIVE: "The conversation ended after a period of inactivity.",
  SYSTEM_CLOSED: "The contact center ended the conversation.",
};

export function initCustomer() {
  const $ = (id) => document.getElementById(id);
  const initForm = $("cc-init");
  const chat = $("cc-chat");
  const log = $("cc-log");
  const conn = $("cc-conn");
  const typing = $("cc-typing");
  const sendForm = $("cc-send");
  const text = $("cc-text");
  const endBtn = $("cc-end");
  const transcript = $("cc-transcript");
  const newBtn = $("cc-new");
  const error = $("cc-error");

  let socket = null;
  let conv = null; // {id, me: {id, name, type}}
  let ended = false;
  let lastTyping = 0;
  let typingTimer;
  const seen = new Set(); // message ids already shown (conversationInfo repeats them on rejoin)

  function setConn(label, kind) {
    conn.textContent = label;
    conn.className = `badge ${kind ?? ""}`;
  }

  function add(item) {
    log.append(item);
    log.scrollTop = log.scrollHeight;
  }

  function addActivity(textLine, kind, at) {
    add(el("li", { class: `activity ${kind ?? ""}` }, textLine, " ", el("time", { datetime: at ?? new Date().toISOString(), text: clock(at) })));
  }

  function addChat(m, mine) {
    if (m.id) {
      if (seen.has(m.id)) return;
      seen.add(m.id);
    }
    const who = mine ? "You" : (m.from?.name ?? "Agent");
    add(el("li", { class: `msg ${mine ? "me" : "them"}`, "data-from": m.from?.type ?? "" },
      el("span", { class: "who" }, who),
      el("p", { class: "text" }, m.text ?? ""),
      el("time", { datetime: m.timestamp ?? "", text: clock(m.timestamp) })));
    if (!mine) {
      clearTimeout(typingTimer);
      typing.textContent = "";
    }
  }

  function onActivity(a) {
    const name = a.info?.participant?.name ?? a.from?.name ?? "Someone";
    switch (a.activityType) {
      case "greetings":
        addActivity(a.info?.text ?? "Welcome!", "", a.timestamp);
        return;
      case "handOff":
        addActivity(a.info?.text ?? "Looking for an agent…", "", a.timestamp);
        return;
      case "participantJoined":
        addActivity(`${name} joined the conversation.`, "", a.timestamp);
        return;
      case "participantLeft":
        addActivity(`${name} left the conversation.`, "", a.timestamp);
        return;
      case "noAgentAvailable":
        addActivity(`No agent is available right now${a.info?.detail ? ` (${a.info.detail})` : ""}.`, "warn", a.timestamp);
        return;
      case "typing":
        typing.textContent = `${a.from?.name ?? "The agent"} is typing…`;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(() => (typing.textContent = ""), 4000);
        return;
      case "endOfConversation":
        onEnded(a);
        return;
      default:
        addActivity(`(${a.activityType})`, "", a.timestamp);
    }
  }

  // onEnded shows the end; links are the transcript's signed links, which
  // the end (or conversationInfo of an ended conversation) carries: the
  // transcript is had only with them.
  function onEnded(a, links = a?.info?.transcript) {
    if (links?.pdf) {
      transcript.href = links.pdf;
      transcript.setAttribute("download", `transcript-${conv.id}.pdf`);
      transcript.hidden = false;
    }
    if (ended) return;
    ended = true;
    addActivity(`${END_REASONS[a?.info?.reason] ?? "The conversation has ended."}`, "end", a?.timestamp);
    typing.textContent = "";
    text.disabled = true;
    sendForm.querySelector("button").disabled = true;
    endBtn.hidden = true;
    newBtn.hidden = false;
    setConn("Ended", "");
    changed();
    // The socket stays until a new conversation starts: an ack may still be
    // on its way (endConversation's comes after endOfConversation). It must
    // not come back by itself, though.
    if (socket) socket.opts.reconnection = false;
  }

  async function join() {
    try {
      const ack = await socket.emitWithAck("joinConversation", { conversationId: conv.id, id: conv.me.id, name: conv.me.name });
      if (ack?.status === "ok") {
        setConn("Connected", "ok");
        showError(error, "");
      } else {
        showError(error, socketError(ack?.error));
        if (ack?.error?.code === "CONVERSATION_ENDED") onEnded(null);
      }
    } catch (err) {
      showError(error, `Joining failed: ${err.message}`);
    }
  }

  function connect() {
    socket = io("", { reconnectionDelayMax: 4000 });
    socket.on("connect", join);
    socket.on("connect_error", () => setConn("Cannot reach the proxy; retrying…", "bad"));
    socket.on("disconnect", (reason) => {
      if (!ended) setConn(reason === "io server disconnect" ? "Disconnected by the proxy" : "Reconnecting…", "bad");
    });
    socket.on("messageArrived", (m) => {
      if (m?.type === "ChatMessage") addChat(m, m.from?.id === conv.me.id);
      else if (m?.type === "ActivityMessage") onActivity(m);
    });
    socket.on("conversationInfo", (info) => {
      for (const m of info?.messages ?? []) addChat(m, m.from?.id === conv.me.id);
      if (info?.conversation?.state === "CLOSE") onEnded(null, info.conversation.transcript);
    });
    socket.on("error", (e) => showError(error, socketError(e)));
  }

  initForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!initForm.reportValidity()) return;
    const f = new FormData(initForm);
    const name = String(f.get("name")).trim();
    const [firstName, ...rest] = name.split(/\s+/);
    const body = { channel: String(f.get("channel")).trim(), firstName, lastName: rest.join(" "), email: String(f.get("email")).trim() };
    const res = await busy(initForm.querySelector("button"), () => call("POST", "/api/customer/init", { json: body }));
    if (!res.ok) {
      showError(error, `The chat could not start: ${describe(res)}`);
      return;
    }
    showError(error, "");
    conv = { id: res.body.conversationId, me: res.body.participant };
    ended = false;
    seen.clear();
    log.replaceChildren();
    $("cc-conv").textContent = conv.id;
    initForm.hidden = true;
    chat.hidden = false;
    text.disabled = false;
    sendForm.querySelector("button").disabled = false;
    endBtn.hidden = false;
    transcript.hidden = true;
    newBtn.hidden = true;
    setConn("Connecting…", "");
    socket?.disconnect();
    connect();
    changed();
    text.focus();
  });

  sendForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = text.value.trim();
    if (!value || !socket || ended) return;
    const msg = { type: "ChatMessage", conversationId: conv.id, from: { id: conv.me.id, name: conv.me.name }, text: value };
    try {
      const ack = await busy(sendForm.querySelector("button"), () => socket.emitWithAck("sendMessage", msg));
      if (ack?.status !== "ok") {
        showError(error, `Not sent: ${socketError(ack?.error)}`);
        return;
      }
      showError(error, "");
      text.value = "";
      addChat({ ...msg, id: ack.id, timestamp: new Date().toISOString() }, true);
    } catch (err) {
      showError(error, `Not sent: ${err.message}`);
    }
  });

  // Typing notices, at most one every 3 s (the proxy accepts them; AXP v1beta
  // has no call to pass them on).
  text.addEventListener("input", () => {
    const now = Date.now();
    if (!socket?.connected || now - lastTyping < 3000) return;
    lastTyping = now;
    socket.emit("sendMessage", { type: "ActivityMessage", activityType: "typing", conversationId: conv.id });
  });

  endBtn.addEventListener("click", async () => {
    if (!socket || ended) return;
    try {
      const ack = await busy(endBtn, () => socket.emitWithAck("endConversation", { conversationId: conv.id }));
      if (ack?.status !== "ok") showError(error, socketError(ack?.error));
    } catch (err) {
      showError(error, `Could not end the conversation: ${err.message}`);
    }
  });

  newBtn.addEventListener("click", () => {
    socket?.disconnect();
    socket = null;
    chat.hidden = true;
    initForm.hidden = false;
    showError(error, "");
    initForm.querySelector("input").focus();
  });
}

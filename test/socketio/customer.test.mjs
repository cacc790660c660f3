// The Customer Channel face with the stock socket.io-client 4.x and default
// options (polling, then the upgrade to WebSocket). The Go test
// TestStockClientConversation (adapters/customerchannel) starts the proxy,
// the AXP simulator and an SMTP sink on loopback, and runs this file with:
//   PROXY_URL    the proxy (init, transcript, /socket.io/)
//   SIM_URL      the simulator, whose agent API this script drives
//   SIM_ACCOUNT  the AXP account id
//   CUSTOMER_EMAIL  the address the email transcript goes to
// It checks the PDF transcript with pdftotext; the Go test checks the mail.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { io } from "socket.io-client";

const PROXY = process.env.PROXY_URL;
const SIM = process.env.SIM_URL;
const ACCOUNT = process.env.SIM_ACCOUNT;
const EMAIL = process.env.CUSTOMER_EMAIL;
if (!PROXY || !SIM || !ACCOUNT || !EMAIL) {
  throw new Error("PROXY_URL, SIM_URL, SIM_ACCOUNT and CUSTOMER_EMAIL must be set (run through go test -run TestStockClientConversation)");
}

const LIMIT = 10000; // ms for any single wait

function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), LIMIT);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// messages collects messageArrived payloads; waitMessage resolves with the
// first (already received or later) one that matches.
function collector(socket) {
  const seen = [];
  const waiters = [];
  socket.on("messageArrived", (m) => {
    seen.push(m);
    for (const w of [...waiters]) {
      if (w.match(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  return (match, what) => {
    const hit = seen.find(match);
    if (hit) return Promise.resolve(hit);
    return within(new Promise((resolve) => waiters.push({ match, resolve })), what);
  };
}

const activity = (type) => (m) => m.type === "ActivityMessage" && m.activityType === type;
const chat = (text) => (m) => m.type === "ChatMessage" && m.text === text;

async function post(url, body) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function sim(engagementId, action, body) {
  const res = await post(`${SIM}/sim/accounts/${ACCOUNT}/engagements/${engagementId}:${action}`, body);
  assert.equal(res.status, 200, `sim ${action}: ${JSON.stringify(res.body)}`);
  return res.body;
}

test("a web customer's whole conversation with the stock client", async () => {
  const stamp = Date.now().toString(36);
  const customerText = `hello from the widget ${stamp}`;
  const agentText = `hi, this is the agent ${stamp}`;

  // init
  const init = await post(`${PROXY}/api/customer/init`, {
    firstName: "Nora", lastName: "Node", email: EMAIL, channel: "web", language: "en",
    subject: `sales-${stamp}`, url: "https://shop.example/cart", requestId: `req-${stamp}`, timestamp: new Date().toISOString(),
  });
  assert.equal(init.status, 200, JSON.stringify(init.body));
  const { conversationId, participant, requestId } = init.body;
  assert.equal(typeof conversationId, "string");
  assert.equal(participant.name, "Nora Node");
  assert.equal(requestId, `req-${stamp}`);

  // connect with default options: polling first, then the upgrade
  const socket = io(PROXY, { forceNew: true, reconnection: false });
  let links; // the transcript links endOfConversation hands out
  const waitMessage = collector(socket);
  const infoP = within(new Promise((resolve) => socket.once("conversationInfo", resolve)), "conversationInfo");
  socket.on("error", (e) => console.error("error event", e));
  try {
    await within(new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", reject);
    }), "connect");

    // join → greetings and conversationInfo
    const joinAck = await within(socket.emitWithAck("joinConversation", { conversationId, id: participant.id, name: "Nora" }), "join ack");
    assert.equal(joinAck.status, "ok", JSON.stringify(joinAck));
    const greet = await waitMessage(activity("greetings"), "greetings");
    assert.equal(greet.conversationId, conversationId);
    const info = await infoP;
    assert.equal(info.conversation.id, conversationId);
    assert.equal(info.conversation.state, "OPEN");
    assert.equal(info.role, "Customer");
    assert.ok(Array.isArray(info.messages));
    assert.ok(info.participant.some((p) => p.id === participant.id));

    // sendMessage → AXP
    const sendAck = await within(socket.emitWithAck("sendMessage", {
      type: "ChatMessage", conversationId, from: { id: participant.id, name: "Nora" }, text: customerText,
    }), "send ack");
    assert.equal(sendAck.status, "ok", JSON.stringify(sendAck));

    // the agent joins and replies through the simulator's agent API
    const engs = await (await fetch(`${SIM}/sim/accounts/${ACCOUNT}/engagements`)).json();
    const eng = engs.find((e) => e.conversation === `sales-${stamp}`);
    assert.ok(eng, `the simulator has no engagement for sales-${stamp}`);
    const engagementId = eng.engagementId;
    await sim(engagementId, "agentJoin", { displayName: "Agent Alma" });
    const joined = await waitMessage(activity("participantJoined"), "participantJoined");
    assert.equal(joined.info.participant.name, "Agent Alma");
    await sim(engagementId, "agentMessage", { text: "a whisper to supervisors", customData: { whisper: "true" } });
    await sim(engagementId, "agentMessage", { text: agentText });
    const reply = await waitMessage(chat(agentText), "the agent's reply");
    assert.equal(reply.from.name, "Agent Alma");
    assert.equal(reply.from.type, "Agent");
    assert.ok(!socket.connected || socket.io.engine.transport.name === "websocket", "upgraded to websocket");

    // endConversation → endOfConversation
    const endAck = await within(socket.emitWithAck("endConversation", { conversationId }), "end ack");
    assert.equal(endAck.status, "ok", JSON.stringify(endAck));
    const end = await waitMessage(activity("endOfConversation"), "endOfConversation");
    links = end.info.transcript;
    assert.ok(links && links.pdf && links.email && links.expiresAt, `endOfConversation has no transcript links: ${JSON.stringify(end)}`);
  } finally {
    socket.disconnect();
  }

  // the transcript needs the participant's proof: the id alone is refused
  const bare = await fetch(`${PROXY}/api/customer/transcript/${conversationId}/pdf`);
  assert.equal(bare.status, 401);
  assert.equal((await bare.json()).code, "PROOF_REQUIRED");

  // the signed link of endOfConversation gets the pdf, which holds the
  // messages and never the whisper
  const pdfRes = await fetch(`${PROXY}${links.pdf}`);
  assert.equal(pdfRes.status, 200);
  assert.equal(pdfRes.headers.get("content-type"), "application/pdf");
  const pdf = Buffer.from(await pdfRes.arrayBuffer());
  assert.equal(pdf.subarray(0, 5).toString(), "%PDF-");
  const dir = mkdtempSync(join(tmpdir(), "transcript-"));
  const file = join(dir, "t.pdf");
  writeFileSync(file, pdf);
  let text;
  try {
    text = execFileSync("pdftotext", [file, "-"], { encoding: "utf8" });
  } catch (e) {
    throw new Error(`pdftotext failed (install poppler-utils): ${e.message}`);
  }
  const flat = text.replace(/\s+/g, " ");
  assert.ok(flat.includes(customerText), `transcript lacks the customer's message:\n${text}`);
  assert.ok(flat.includes(agentText), `transcript lacks the agent's message:\n${text}`);
  assert.ok(flat.includes("Agent Alma"), "transcript lacks the agent's name");
  assert.ok(!flat.includes("whisper to supervisors"), "transcript shows a whisper");

  // the email transcript, asked with the participant id as the widget
  // holds it: 200 with an empty body (the Go test reads the mail); asked
  // again at once, 200 and no second mail
  for (let i = 0; i < 2; i++) {
    const mailRes = await fetch(`${PROXY}/api/customer/transcript/${conversationId}/email`, {
      method: "POST", headers: { "X-Participant-Id": participant.id },
    });
    assert.equal(mailRes.status, 200);
    assert.equal(await mailRes.text(), "");
  }
  console.log(`CONVERSATION ${conversationId} ${customerText} | ${agentText}`);
});

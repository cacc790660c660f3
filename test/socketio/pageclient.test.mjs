// Runs the demo console's own Socket.IO client (console/static/socketio.js)
// against the Go Socket.IO server, as protocol.test.mjs runs the stock
// socket.io-client. The Go test TestPageClient (adapters/customerchannel/socketio)
// starts the server with the test handlers (echo, whoami, ping-me, drop,
// bye; Authenticate refuses {token: "bad"}; pings every 300 ms, 200 ms
// timeout; MaxPayload 100000 bytes) and runs this file with SOCKETIO_URL set,
// under node --experimental-websocket (Node 20 has WebSocket behind it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { io, encode, decode, Socket } from "../../console/static/socketio.js";

const URL = process.env.SOCKETIO_URL;
if (!URL) throw new Error("SOCKETIO_URL is not set (run through go test -run TestPageClient)");
if (typeof WebSocket !== "function") throw new Error("this Node has no WebSocket: run it with --experimental-websocket");

const LIMIT = 10000; // ms for any single wait

function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), LIMIT);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function once(socket, event) {
  return within(new Promise((resolve) => socket.once(event, (...args) => resolve(args))), event);
}

function client(opts = {}) {
  return io(URL, { reconnection: false, ...opts });
}

async function connected(socket) {
  if (!socket.connected) await once(socket, "connect");
  return socket;
}

function ack(socket, event, ...args) {
  return within(new Promise((resolve) => socket.emit(event, ...args, (...reply) => resolve(reply))), `${event} ack`);
}

// A WebSocket that lets a test see (and drop) what the server sends.
function spyingWebSocket(onMessage) {
  return class extends WebSocket {
    set onmessage(fn) {
      super.onmessage = (ev) => {
        if (onMessage(ev.data, this) !== false) fn(ev);
      };
    }
  };
}

test("encode and decode agree with the protocol's examples", () => {
  assert.equal(encode(2, ["hello", 1]), '2["hello",1]');
  assert.equal(encode(2, ["hello"], 12), '212["hello"]');
  assert.equal(encode(3, [{ ok: true }], 12), '312[{"ok":true}]');
  assert.equal(encode(0), "0");
  assert.equal(encode(0, { token: "t" }), '0{"token":"t"}');
  assert.deepEqual(decode('0{"sid":"abc"}'), { type: 0, nsp: "/", id: undefined, data: { sid: "abc" } });
  assert.deepEqual(decode('213["ask",21]'), { type: 2, nsp: "/", id: 13, data: ["ask", 21] });
  assert.deepEqual(decode("3/admin,7[]"), { type: 3, nsp: "/admin", id: 7, data: [] });
  assert.deepEqual(decode("1"), { type: 1, nsp: "/", id: undefined, data: undefined });
  assert.deepEqual(decode('4{"message":"Not authorized"}'), { type: 4, nsp: "/", id: undefined, data: { message: "Not authorized" } });
});

test("decode refuses malformed packets", () => {
  for (const bad of ["", "9", "x", '2{"not":"an array"}', "2[]", "2[1]", "3[]", "31", "2[", '51-["a",{"_placeholder":true,"num":0}]', "2/admin"]) {
    assert.throws(() => decode(bad), undefined, JSON.stringify(bad));
  }
});

test("connects over websocket and gets acks with every argument", async () => {
  const socket = client();
  try {
    await connected(socket);
    assert.equal(typeof socket.id, "string");
    assert.ok(socket.id.length > 0);
    assert.deepEqual(await ack(socket, "echo", "hi", 1, { a: [1, "2"] }, null), ["hi", 1, { a: [1, "2"] }, null]);
    assert.equal(await within(socket.emitWithAck("echo", "first only", 2), "emitWithAck"), "first only");
  } finally {
    socket.disconnect();
  }
});

test("events emitted before the connection is up leave once it is", async () => {
  const socket = client();
  try {
    const replies = Promise.all(Array.from({ length: 20 }, (_, i) => ack(socket, "echo", i)));
    assert.equal(socket.connected, false);
    assert.deepEqual(await within(replies, "20 echo acks"), Array.from({ length: 20 }, (_, i) => [i]));
  } finally {
    socket.disconnect();
  }
});

test("the auth object is the connection's data", async () => {
  const socket = client({ auth: { token: "good", name: "Ada" } });
  try {
    await connected(socket);
    assert.deepEqual(await ack(socket, "whoami"), [{ token: "good", name: "Ada" }]);
  } finally {
    socket.disconnect();
  }
});

test("a refused auth is a connect_error with the server's message, and final", async () => {
  const socket = io(URL, { auth: { token: "bad" }, reconnection: true, reconnectionDelay: 20 });
  try {
    const [err] = await once(socket, "connect_error");
    assert.equal(err.message, "Not authorized");
    assert.equal(socket.connected, false);
    assert.equal(socket.active, false);
  } finally {
    socket.disconnect();
  }
});

test("the server's acks are answered", async () => {
  const socket = client();
  try {
    await connected(socket);
    socket.on("ask", (n, answer) => answer(n * 2, "doubled"));
    const answer = once(socket, "answer");
    socket.emit("ping-me", 21);
    assert.deepEqual(await answer, [42, "doubled"]);
  } finally {
    socket.disconnect();
  }
});

test("unknown events are answered with an error event and never acked", async () => {
  const socket = client({ ackTimeout: 500 });
  try {
    await connected(socket);
    const err = once(socket, "error");
    const acked = socket.emitWithAck("no-such-event", 1);
    const [payload] = await err;
    assert.match(payload.message, /unknown event "no-such-event"/);
    await assert.rejects(acked, /no answer to "no-such-event" within 500 ms/);
    assert.equal(socket.connected, true);
  } finally {
    socket.disconnect();
  }
});

test("pings are answered, so the connection outlives several ping windows", async () => {
  let pings = 0;
  let reached;
  const enough = new Promise((resolve) => (reached = resolve));
  const socket = client({
    WebSocket: spyingWebSocket((data) => {
      if (data === "2" && ++pings === 5) reached();
    }),
  });
  try {
    await connected(socket);
    const lost = [];
    socket.on("disconnect", (reason) => lost.push(reason));
    await within(enough, "5 pings"); // 5 × 300 ms: past the 500 ms window twice
    assert.deepEqual(lost, []);
    assert.deepEqual(await ack(socket, "echo", "still here"), ["still here"]);
  } finally {
    socket.disconnect();
  }
});

test("a server that stops pinging is noticed by ping timeout", async () => {
  let swallow = false;
  // The spy hides the pings from the client but answers them itself, so the
  // server keeps the session and only the client's own timer can end it.
  const socket = client({
    WebSocket: spyingWebSocket((data, ws) => {
      if (!swallow || data !== "2") return true;
      ws.send("3");
      return false;
    }),
  });
  try {
    await connected(socket);
    const gone = once(socket, "disconnect");
    swallow = true;
    assert.deepEqual(await gone, ["ping timeout"]);
  } finally {
    socket.disconnect();
  }
});

test("a dropped transport is reconnected, with a new session", async () => {
  const socket = io(URL, { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
  try {
    await connected(socket);
    const first = socket.id;
    const gone = once(socket, "disconnect");
    socket.emit("drop");
    const [reason] = await gone;
    assert.match(reason, /transport (close|error)/);
    await once(socket, "connect");
    assert.notEqual(socket.id, first);
    assert.deepEqual(await ack(socket, "echo", "again"), ["again"]);
  } finally {
    socket.disconnect();
  }
});

test("a server disconnect is final", async () => {
  const socket = io(URL, { reconnection: true, reconnectionDelay: 50 });
  try {
    await connected(socket);
    const gone = once(socket, "disconnect");
    socket.emit("bye");
    assert.deepEqual(await gone, ["io server disconnect"]);
    assert.equal(socket.active, false);
  } finally {
    socket.disconnect();
  }
});

test("a client disconnect is final and said once", async () => {
  const socket = io(URL, { reconnection: true, reconnectionDelay: 50 });
  await connected(socket);
  const reasons = [];
  socket.on("disconnect", (r) => reasons.push(r));
  socket.disconnect();
  socket.disconnect();
  assert.deepEqual(reasons, ["io client disconnect"]);
  assert.equal(socket.active, false);
  assert.equal(socket.connected, false);
});

test("a payload over maxPayload closes the connection", async () => {
  const socket = client();
  try {
    await connected(socket);
    const gone = once(socket, "disconnect");
    socket.emit("echo", "x".repeat(200000));
    const [reason] = await gone;
    assert.match(reason, /transport (close|error)/);
  } finally {
    socket.disconnect();
  }
});

test("reserved event names cannot be emitted", () => {
  const socket = new Socket(URL); // never connected
  for (const name of ["connect", "connect_error", "disconnect"]) {
    assert.throws(() => socket.emit(name), /reserved/);
  }
});

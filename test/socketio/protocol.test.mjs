// Runs the stock socket.io-client 4.x against the Go Socket.IO server.
// The Go test TestSocketIOClient (adapters/customerchannel/socketio) starts
// the server with test handlers and runs this file with SOCKETIO_URL set:
//   echo      acks its arguments
//   whoami    acks the data Authenticate returned (the auth object)
//   ping-me   the server emits "ask" with the argument and an ack; the
//             client's ack arguments come back as the event "answer"
//   drop      the server closes the transport (the client reconnects)
//   bye       the server sends DISCONNECT (final for the client)
// Authenticate refuses {token: "bad"} with "Not authorized"; MaxPayload is
// 100000 bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";

const URL = process.env.SOCKETIO_URL;
if (!URL) throw new Error("SOCKETIO_URL is not set (run through go test -run TestSocketIOClient)");

const LIMIT = 10000; // ms for any single wait

function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), LIMIT);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function once(emitter, event) {
  return within(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), event);
}

function client(opts = {}) {
  return io(URL, { forceNew: true, reconnection: false, ...opts });
}

// ack emits event and resolves with every argument of the server's ack
// (emitWithAck keeps only the first).
function ack(socket, event, ...args) {
  return within(new Promise((resolve) => socket.emit(event, ...args, (...reply) => resolve(reply))), `${event} ack`);
}

async function connected(socket) {
  if (!socket.connected) await once(socket, "connect");
  return socket;
}

test("default options connect by polling, then upgrade to websocket", async () => {
  const socket = client();
  try {
    await connected(socket);
    assert.equal(typeof socket.id, "string");
    const engine = socket.io.engine;
    if (engine.transport.name !== "websocket") {
      await once(engine, "upgrade");
    }
    assert.equal(engine.transport.name, "websocket");
    const reply = await ack(socket, "echo", "after upgrade", 1);
    assert.deepEqual(reply, ["after upgrade", 1]);
  } finally {
    socket.disconnect();
  }
});

test("events sent while upgrading are not lost", async () => {
  const socket = client();
  try {
    await connected(socket);
    // Fire acks at once; some leave by polling, some after the upgrade.
    const replies = await within(
      Promise.all(Array.from({ length: 20 }, (_, i) => ack(socket, "echo", i))),
      "20 echo acks",
    );
    assert.deepEqual(replies, Array.from({ length: 20 }, (_, i) => [i]));
  } finally {
    socket.disconnect();
  }
});

test("transports websocket only never polls", async () => {
  const socket = client({ transports: ["websocket"] });
  try {
    await connected(socket);
    assert.equal(socket.io.engine.transport.name, "websocket");
    const reply = await ack(socket, "echo", { a: [1, "2"] });
    assert.deepEqual(reply, [{ a: [1, "2"] }]);
  } finally {
    socket.disconnect();
  }
});

test("polling only works without upgrade", async () => {
  const socket = client({ transports: ["polling"] });
  try {
    await connected(socket);
    assert.equal(socket.io.engine.transport.name, "polling");
    const reply = await ack(socket, "echo", "by polling");
    assert.deepEqual(reply, ["by polling"]);
  } finally {
    socket.disconnect();
  }
});

test("auth payload accepted is the connection's data", async () => {
  const socket = client({ auth: { token: "good", name: "Ada" } });
  try {
    await connected(socket);
    const data = await ack(socket, "whoami");
    assert.deepEqual(data, [{ token: "good", name: "Ada" }]);
  } finally {
    socket.disconnect();
  }
});

test("auth payload refused gives connect_error with the message", async () => {
  for (const transports of [["polling", "websocket"], ["websocket"]]) {
    const socket = client({ auth: { token: "bad" }, transports });
    try {
      const [err] = await once(socket, "connect_error");
      assert.equal(err.message, "Not authorized");
      assert.equal(socket.connected, false);
    } finally {
      socket.disconnect();
    }
  }
});

test("acks both ways", async () => {
  const socket = client();
  try {
    await connected(socket);
    socket.on("ask", (n, ack) => ack(n * 2, "doubled"));
    const answer = once(socket, "answer");
    socket.emit("ping-me", 21);
    assert.deepEqual(await answer, [42, "doubled"]);
  } finally {
    socket.disconnect();
  }
});

test("unknown events are answered with an error event", async () => {
  const socket = client({ transports: ["websocket"] });
  try {
    await connected(socket);
    const err = once(socket, "error");
    socket.emit("no-such-event", 1);
    const [payload] = await err;
    assert.match(payload.message, /unknown event "no-such-event"/);
    assert.equal(socket.connected, true);
  } finally {
    socket.disconnect();
  }
});

test("a dropped transport is reconnected by the client", async () => {
  for (const transports of [["polling", "websocket"], ["websocket"], ["polling"]]) {
    const socket = client({ transports, reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
    try {
      await connected(socket);
      // Drop an established transport, not one in the middle of the
      // upgrade: while it probes, the client has paused polling and can
      // only notice a drop by ping timeout.
      const engine = socket.io.engine;
      if (transports.length > 1 && engine.transport.name !== "websocket") {
        await once(engine, "upgrade");
      }
      const first = socket.id;
      const gone = once(socket, "disconnect");
      socket.emit("drop");
      const [reason] = await gone;
      assert.match(reason, /transport (close|error)/, `${transports}: ${reason}`);
      await once(socket, "connect");
      assert.notEqual(socket.id, first);
      const reply = await ack(socket, "echo", "again");
      assert.deepEqual(reply, ["again"]);
    } finally {
      socket.disconnect();
    }
  }
});

test("a server disconnect is final", async () => {
  const socket = client({ reconnection: true, reconnectionDelay: 50 });
  try {
    await connected(socket);
    const gone = once(socket, "disconnect");
    socket.emit("bye");
    const [reason] = await gone;
    assert.equal(reason, "io server disconnect");
    assert.equal(socket.active, false);
  } finally {
    socket.disconnect();
  }
});

test("a payload over maxPayload closes the connection", async () => {
  const big = "x".repeat(200000);
  for (const transports of [["websocket"], ["polling"]]) {
    const socket = client({ transports });
    try {
      await connected(socket);
      const gone = once(socket, "disconnect");
      socket.emit("echo", big);
      const [reason] = await gone;
      assert.match(reason, /transport (close|error)/, `${transports}: ${reason}`);
    } finally {
      socket.disconnect();
    }
  }
});

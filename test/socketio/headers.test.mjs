// A widget on a site whose cookies reach the proxy's host sends them with
// every request: the stock socket.io-client must still connect, on each
// transport. The Go test TestBigCookieOnBothTransports (package proxy) runs
// this file with PROXY_URL set to a demo-mode proxy and COOKIE_BYTES to the
// Cookie header's size.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";

const URL = process.env.PROXY_URL;
if (!URL) throw new Error("PROXY_URL is not set (run through go test -run TestBigCookieOnBothTransports ./proxy)");
const BYTES = Number(process.env.COOKIE_BYTES || 6144);
const LIMIT = 10000; // ms for any single wait

// A browser's Cookie header: several cookies, `; `-separated.
function cookieHeader(bytes) {
  const parts = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const c = `c${i}=${"v".repeat(200)}`;
    parts.push(c);
    n += c.length + 2;
  }
  return parts.join("; ").slice(0, bytes);
}

function connect(opts) {
  const socket = io(URL, { forceNew: true, reconnection: false, ...opts });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out connecting")), LIMIT);
    socket.once("connect", () => { clearTimeout(timer); resolve(socket); });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      reject(new Error(`connect_error: ${err.message} ${err.description ?? ""} ${err.context?.status ?? ""}`));
    });
  });
}

for (const transports of [["polling"], ["websocket"], ["polling", "websocket"]]) {
  test(`a ${BYTES}-byte Cookie header on ${transports.join(" then ")}`, async () => {
    const cookie = cookieHeader(BYTES);
    assert.equal(cookie.length, BYTES);
    const socket = await connect({ transports, extraHeaders: { cookie } });
    try {
      assert.equal(typeof socket.id, "string");
      if (transports.length === 1) {
        assert.equal(socket.io.engine.transport.name, transports[0]);
      } else if (socket.io.engine.transport.name !== "websocket") {
        await new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("timed out waiting for the upgrade")), LIMIT);
          socket.io.engine.once("upgrade", () => { clearTimeout(timer); resolve(); });
        });
        assert.equal(socket.io.engine.transport.name, "websocket");
      }
    } finally {
      socket.close();
    }
  });
}

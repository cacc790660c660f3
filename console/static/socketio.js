// A small Socket.IO v5 client on Engine.IO v4, over WebSocket, for the demo
// console (and any page that wants no third-party code). It does what a
// chat widget needs: connect with an auth object, emit events with or
// without acks, answer the server's acks, answer pings, notice a dead
// transport by ping timeout, and reconnect with backoff. It does not do
// HTTP long-polling, binary packets or namespaces other than "/".
//
//   import { io } from "./socketio.js";
//   const socket = io("", { auth: { token } });   // "" = this page's origin
//   socket.on("connect", () => socket.emit("hello", { a: 1 }, (reply) => ...));
//   const reply = await socket.emitWithAck("echo", "x");
//
// Local events: "connect", "connect_error" (an Error; .data carries what
// the server sent), "disconnect" (a reason: "io server disconnect",
// "io client disconnect", "transport close", "transport error",
// "ping timeout", "parse error").

const EIO_OPEN = "0";
const EIO_CLOSE = "1";
const EIO_PING = "2";
const EIO_PONG = "3";
const EIO_MESSAGE = "4";
const EIO_NOOP = "6";

const SIO_CONNECT = 0;
const SIO_DISCONNECT = 1;
const SIO_EVENT = 2;
const SIO_ACK = 3;
const SIO_CONNECT_ERROR = 4;

const RESERVED = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);

// Reasons after which the client does not reconnect by itself.
const FINAL = new Set(["io server disconnect", "io client disconnect"]);

const DEFAULTS = {
  path: "/socket.io/",
  auth: undefined, // an object, or a function (cb) => cb(object)
  reconnection: true,
  reconnectionDelay: 500,
  reconnectionDelayMax: 5000,
  ackTimeout: 10000, // for emitWithAck
  WebSocket: undefined, // default globalThis.WebSocket
};

// encode writes a Socket.IO packet (default namespace, no attachments).
export function encode(type, data, id) {
  let out = String(type);
  if (id !== undefined) out += id;
  if (data !== undefined) out += JSON.stringify(data);
  return out;
}

// decode reads a Socket.IO packet; it throws on anything malformed.
export function decode(str) {
  const type = Number(str[0]);
  if (!(type >= 0 && type <= 6) || str.length === 0) throw new Error(`bad packet type in ${JSON.stringify(str)}`);
  if (type === 5 || type === 6) throw new Error("binary packets are not supported");
  let i = 1;
  let nsp = "/";
  if (str[i] === "/") {
    const comma = str.indexOf(",", i);
    if (comma < 0) throw new Error("bad namespace");
    nsp = str.slice(i, comma);
    i = comma + 1;
  }
  let id;
  const start = i;
  while (i < str.length && str[i] >= "0" && str[i] <= "9") i++;
  if (i > start) id = Number(str.slice(start, i));
  let data;
  if (i < str.length) data = JSON.parse(str.slice(i));
  if (type === SIO_EVENT && !(Array.isArray(data) && data.length > 0 && typeof data[0] === "string")) {
    throw new Error("an EVENT must be a non-empty array starting with its name");
  }
  if (type === SIO_ACK && (id === undefined || !Array.isArray(data))) throw new Error("an ACK needs an id and an array");
  return { type, nsp, id, data };
}

// wsURL turns "http(s)://host[:port]" (or "" for this page's origin) into
// the Engine.IO WebSocket URL.
function wsURL(base, path) {
  const origin = base || globalThis.location?.origin;
  if (!origin) throw new Error("no URL given and no page origin to default to");
  const u = new URL(path, origin);
  u.protocol = u.protocol === "https:" || u.protocol === "wss:" ? "wss:" : "ws:";
  u.search = "?EIO=4&transport=websocket";
  return u.toString();
}

export class Socket {
  constructor(url, opts = {}) {
    this.url = url;
    this.opts = { ...DEFAULTS, ...opts };
    this.id = undefined;
    this.connected = false;
    this.active = false; // connected, or trying to (re)connect
    this._listeners = new Map();
    this._acks = new Map();
    this._nextAck = 0;
    this._buffer = []; // packets emitted before CONNECT was answered
    this._ws = null;
    this._pingTimer = null;
    this._retryTimer = null;
    this._attempts = 0;
  }

  on(event, fn) {
    if (!this._listeners.has(event)) this._listeners.set(event, new Set());
    this._listeners.get(event).add(fn);
    return this;
  }

  off(event, fn) {
    this._listeners.get(event)?.delete(fn);
    return this;
  }

  once(event, fn) {
    const wrap = (...args) => {
      this.off(event, wrap);
      fn(...args);
    };
    return this.on(event, wrap);
  }

  _fire(event, ...args) {
    for (const fn of [...(this._listeners.get(event) ?? [])]) {
      try {
        fn(...args);
      } catch (err) {
        // A listener's bug must not break the connection.
        console.error(`socket.io listener for "${event}" failed`, err);
      }
    }
  }

  connect() {
    if (this.active) return this;
    this.active = true;
    this._open();
    return this;
  }

  // emit sends an event; a function as the last argument asks for an ack.
  emit(event, ...args) {
    if (RESERVED.has(event)) throw new Error(`"${event}" is a reserved event name`);
    let id;
    if (typeof args[args.length - 1] === "function") {
      id = this._nextAck++;
      this._acks.set(id, args.pop());
    }
    const packet = encode(SIO_EVENT, [event, ...args], id);
    if (this.connected) this._send(packet);
    else this._buffer.push(packet);
    return this;
  }

  // emitWithAck resolves with the ack's first argument; it rejects after
  // ackTimeout ms or when the connection is lost first.
  emitWithAck(event, ...args) {
    return new Promise((resolve, reject) => {
      let timer;
      const done = (err, value) => {
        clearTimeout(timer);
        this.off("disconnect", lost);
        if (err) {
          this._acks.delete(id);
          reject(err);
        } else {
          resolve(value);
        }
      };
      const lost = () => done(new Error(`disconnected before "${event}" was acknowledged`));
      const id = this._nextAck; // the id emit will use
      timer = setTimeout(() => done(new Error(`no answer to "${event}" within ${this.opts.ackTimeout} ms`)), this.opts.ackTimeout);
      this.on("disconnect", lost);
      this.emit(event, ...args, (value) => done(null, value));
    });
  }

  disconnect() {
    clearTimeout(this._retryTimer);
    this.active = false;
    if (this.connected) this._send(encode(SIO_DISCONNECT));
    this._closeTransport("io client disconnect");
    return this;
  }

  _open() {
    const WS = this.opts.WebSocket ?? globalThis.WebSocket;
    let ws;
    try {
      ws = new WS(wsURL(this.url, this.opts.path));
    } catch (err) {
      this._fire("connect_error", err);
      this._scheduleRetry();
      return;
    }
    this._ws = ws;
    let opened = false;
    ws.onmessage = (ev) => {
      if (this._ws !== ws) return;
      if (typeof ev.data !== "string") {
        this._closeTransport("parse error");
        return;
      }
      if (ev.data[0] === EIO_OPEN) opened = true;
      this._onEngine(ev.data);
    };
    ws.onerror = () => {}; // onclose follows and says what matters
    ws.onclose = () => {
      if (this._ws !== ws) return;
      if (!opened) {
        this._ws = null;
        this._fire("connect_error", new Error("websocket error"));
        this._scheduleRetry();
        return;
      }
      this._closeTransport("transport close");
    };
  }

  _onEngine(data) {
    switch (data[0]) {
      case EIO_OPEN: {
        let hs;
        try {
          hs = JSON.parse(data.slice(1));
        } catch {
          this._closeTransport("parse error");
          return;
        }
        this._pingWindow = (hs.pingInterval ?? 25000) + (hs.pingTimeout ?? 20000);
        this._armPing();
        this._sendConnect();
        return;
      }
      case EIO_PING:
        this._armPing();
        this._raw(EIO_PONG + data.slice(1));
        return;
      case EIO_MESSAGE:
        this._onPacket(data.slice(1));
        return;
      case EIO_CLOSE:
        this._closeTransport("transport close");
        return;
      case EIO_NOOP:
      case EIO_PONG:
        return;
      default:
        this._closeTransport("parse error");
    }
  }

  _sendConnect() {
    const send = (auth) => this._send(encode(SIO_CONNECT, auth && typeof auth === "object" ? auth : undefined));
    const { auth } = this.opts;
    if (typeof auth === "function") auth(send);
    else send(auth);
  }

  _onPacket(str) {
    let p;
    try {
      p = decode(str);
    } catch {
      this._closeTransport("parse error");
      return;
    }
    if (p.nsp !== "/") return;
    switch (p.type) {
      case SIO_CONNECT:
        this.id = p.data?.sid;
        this.connected = true;
        this._attempts = 0;
        this._fire("connect");
        for (const packet of this._buffer.splice(0)) this._send(packet);
        return;
      case SIO_CONNECT_ERROR: {
        const err = new Error(p.data?.message ?? "connection refused");
        err.data = p.data?.data;
        this.active = false; // refused: retrying would be refused again
        this._closeTransport(null);
        this._fire("connect_error", err);
        return;
      }
      case SIO_EVENT: {
        const [event, ...args] = p.data;
        if (p.id !== undefined) {
          let sent = false;
          args.push((...reply) => {
            if (sent) return;
            sent = true;
            this._send(encode(SIO_ACK, reply, p.id));
          });
        }
        this._fire(event, ...args);
        return;
      }
      case SIO_ACK: {
        const fn = this._acks.get(p.id);
        if (!fn) return;
        this._acks.delete(p.id);
        fn(...p.data);
        return;
      }
      case SIO_DISCONNECT:
        this.active = false;
        this._closeTransport("io server disconnect");
    }
  }

  _armPing() {
    clearTimeout(this._pingTimer);
    this._pingTimer = setTimeout(() => this._closeTransport("ping timeout"), this._pingWindow);
  }

  _send(packet) {
    this._raw(EIO_MESSAGE + packet);
  }

  _raw(data) {
    if (this._ws?.readyState === 1) this._ws.send(data);
  }

  // _closeTransport ends the WebSocket; reason, when given, is reported as
  // "disconnect" if the socket was connected, and decides on reconnecting.
  _closeTransport(reason) {
    clearTimeout(this._pingTimer);
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      try {
        ws.close();
      } catch {
        // already closed
      }
    }
    const was = this.connected;
    this.connected = false;
    if (FINAL.has(reason)) this.active = false;
    if (was && reason) {
      this._fire("disconnect", reason);
      // The server answers acks only on the session that asked for them.
      this._acks.clear();
    }
    if (reason && this.active) this._scheduleRetry();
  }

  _scheduleRetry() {
    if (!this.active || !this.opts.reconnection) {
      this.active = false;
      return;
    }
    const { reconnectionDelay: base, reconnectionDelayMax: max } = this.opts;
    const delay = Math.min(base * 2 ** this._attempts, max) * (0.5 + Math.random() / 2);
    this._attempts++;
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => {
      if (this.active && !this._ws) this._open();
    }, delay);
  }
}

// io connects to url ("" for this page's origin) and returns the socket.
export function io(url, opts) {
  return new Socket(url, opts).connect();
}

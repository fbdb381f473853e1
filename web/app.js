// The browser terminal's page (kqueue-console/server's web.ts serves it):
// xterm.js on a WebSocket. It sends the token from the URL's fragment first,
// with the session this tab had (a reload reattaches to it), then keys and
// window sizes, and acknowledges output once xterm.js has parsed it, which
// is what lets the server stop reading the pty while the page is behind
// (xterm.js's flow-control guide). The token and the session id are kept
// in sessionStorage: this tab's, this origin's, gone with the tab.
'use strict';
// The page's only script: its top-level names are the page's own.
/** Acknowledge at least this many parsed bytes at a time, and whatever is left once xterm.js has caught up. */
const ACK_EVERY = 16 * 1024;

/** The terminal, fitted to its element and to the window. */
function openTerminal() {
  const term = new Terminal({ cursorBlink: true, scrollback: 5000, fontFamily: 'DejaVu Sans Mono, monospace', fontSize: 14 });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(document.getElementById('terminal'));
  fit.fit();
  window.addEventListener('resize', () => fit.fit());
  return term;
}

/** Output into the terminal, acknowledged to the server once parsed. */
function onOutput(term, stats, send, data) {
  stats.received += data.length;
  term.write(data, () => {
    stats.parsed += data.length;
    const pending = stats.parsed - stats.acked;
    if (pending >= ACK_EVERY || stats.parsed === stats.received) {
      send({ type: 'ack', bytes: pending });
      stats.acked += pending;
    }
  });
}

/** A snapshot: the screen as the session has it, on a fresh terminal; the output that follows starts at its `seq`. */
function onSnapshot(term, stats, msg) {
  term.reset();
  if (term.rows !== msg.rows || term.cols !== msg.cols) term.resize(msg.cols, msg.rows);
  term.write(msg.data);
  stats.seq = msg.seq;
  stats.snapshots++;
  stats.sinceSnapshot = 0;
}

function connect(term, token, join, statusLine, stats) {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  ws.binaryType = 'arraybuffer';
  const send = (msg) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };
  ws.onopen = () => {
    const session = sessionStorage.getItem('kqc-session') || undefined;
    // The size goes with the token: the session starts at it, or takes it on as the writer.
    send({ type: 'auth', token, session, join: session ? undefined : join, rows: term.rows, cols: term.cols });
    statusLine.textContent = 'connected';
    term.focus();
  };
  ws.onmessage = (event) => {
    if (typeof event.data !== 'string') {
      stats.sinceSnapshot += event.data.byteLength;
      onOutput(term, stats, send, new Uint8Array(event.data));
      return;
    }
    const msg = JSON.parse(event.data);
    if (msg.type === 'session') {
      sessionStorage.setItem('kqc-session', msg.id);
      stats.session = msg.id;
      statusLine.textContent = `connected: session ${msg.name}${msg.role === 'viewer' ? ' (watching)' : ''}`;
    } else if (msg.type === 'snapshot') onSnapshot(term, stats, msg);
    else if (msg.type === 'exit') {
      sessionStorage.removeItem('kqc-session');
      statusLine.textContent = `the program exited (code ${msg.code}); reload for a new one`;
    }
  };
  ws.onclose = (event) => {
    if (event.code === 1008) statusLine.textContent = 'refused: the link has no valid token';
    else if (event.code !== 1000) statusLine.textContent = `disconnected (${event.code})`;
  };
  term.onData((data) => send({ type: 'input', data }));
  term.onResize(({ rows, cols }) => send({ type: 'resize', rows, cols }));
}

const fragment = new URLSearchParams(location.hash.slice(1));
const token = fragment.get('token') || sessionStorage.getItem('kqc-token') || '';
// A session to join, by id or name (`#token=...&session=work`).
const join = fragment.get('session') || undefined;
// The token leaves the address bar and the history; a reload finds it in this tab's storage.
sessionStorage.setItem('kqc-token', token);
history.replaceState(null, '', location.pathname);
const term = openTerminal();
// Bytes received from the server, parsed by xterm.js, and acknowledged; the
// session, its last snapshot's sequence number and the bytes since.
const stats = { received: 0, parsed: 0, acked: 0, session: null, seq: 0, snapshots: 0, sinceSnapshot: 0 };
// For the browser test, and for a look from the developer tools.
window.webTerminal = { term, stats };
connect(term, token, join, document.getElementById('status'), stats);

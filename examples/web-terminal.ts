// A web terminal: a shell on a pty per browser tab, over a WebSocket, drawn
// by xterm.js, with flow control from the pty to the page; a reload (or a
// dropped connection) reattaches the tab to its shell, screen restored.
//
//   npm run web [-- --port N] [-- --linger 0] [-- command args...]
//
// A thin use of kqueue-console/server (`kqueue-console serve --web` is the
// same server with a Unix socket beside it): what it protects, and how, is
// in src/server/web.ts and SECURITY.md.
import { DEFAULT_TERM } from 'kqueue-console';
import { serveSessions, type LoopbackHost, type SessionServer } from 'kqueue-console/server';

export interface WebTerminalOptions {
  /** Sessions at once; one more is closed with 1013. Default 8. */
  maxSessions?: number;
  /** Connections beside one per session (pages loading, viewers); past them new ones are dropped. Default 16. */
  maxPending?: number;
  /** How long a request, and then the token, may take. Default 5000 ms. */
  authTimeoutMs?: number;
  /** The program each connection runs, and its arguments. Default: $SHELL -i (or sh -i). */
  command?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1; only loopback addresses are accepted. */
  host?: LoopbackHost;
  /** Default: 32 random bytes, hex. */
  token?: string;
  /** How long a tab's session outlives its page, in ms; 0 ends it with the page. Default 15 minutes. */
  lingerMs?: number;
  /** Called with a line for each session started and ended (the CLI prints them). */
  log?: (line: string) => void;
}

export interface WebTerminal {
  /** The URL to open: the token is in the fragment. */
  url: string;
  port: number;
  token: string;
  /** Sessions started so far (a wrong token starts none). */
  readonly sessionsStarted: number;
  /** Stops listening and ends every session. */
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens. */
export async function startWebTerminal(options: WebTerminalOptions = {}): Promise<WebTerminal> {
  const command = options.command ?? process.env.SHELL ?? 'sh';
  const server: SessionServer = await serveSessions({
    command,
    args: options.args ?? (options.command === undefined ? ['-i'] : []),
    env: options.env ?? { ...process.env, TERM: DEFAULT_TERM },
    web: { port: options.port, host: options.host },
    token: options.token,
    lingerMs: options.lingerMs,
    maxSessions: options.maxSessions,
    maxPending: options.maxPending,
    authTimeoutMs: options.authTimeoutMs,
    log: options.log,
  });
  const web = server.web!;
  return {
    url: web.url,
    port: web.port,
    token: server.token,
    get sessionsStarted() {
      return server.sessionsStarted;
    },
    close: () => server.close(),
  };
}

/** The command line's numeric flags, and the option each sets (serveSessions() checks them). */
const FLAGS = {
  '--port': 'port',
  '--max-sessions': 'maxSessions',
  '--max-pending': 'maxPending',
  '--auth-timeout-ms': 'authTimeoutMs',
} as const;
const USAGE = `usage: web-terminal [--host 127.0.0.1] [--linger SECONDS] ${Object.keys(FLAGS)
  .map((f) => `[${f} N]`)
  .join(' ')} [-- command args...]`;

async function main(argv: string[]): Promise<void> {
  const options: WebTerminalOptions = { log: (line) => console.log(line) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      [options.command, ...options.args] = argv.slice(i + 1);
      break;
    } else if (Object.hasOwn(FLAGS, a)) options[FLAGS[a as keyof typeof FLAGS]] = Number(argv[++i]);
    else if (a === '--host') options.host = argv[++i] as WebTerminalOptions['host'];
    else if (a === '--linger') options.lingerMs = Number(argv[++i]) * 1000;
    else throw new Error(`unknown argument ${a}; ${USAGE}`);
  }
  const term = await startWebTerminal(options);
  console.log(`web terminal: open ${term.url}`);
  process.once('SIGINT', () => void term.close());
  process.once('SIGTERM', () => void term.close());
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: Error) => {
    console.error(err.message);
    process.exitCode = 1;
  });
}

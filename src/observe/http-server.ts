import { timingSafeEqual, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { TributaryError, errorMessage } from '../errors.js';

/** Limits that keep bad clients from disturbing the job. */
export const HTTP_LIMITS = {
  maxHeaderBytes: 8 * 1024,
  maxUrlLength: 2048,
  maxConnections: 64,
  maxEventStreams: 16,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
} as const;

export interface HttpServerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Default 127.0.0.1 (this machine only); `0.0.0.0` or `::` expose it, which is explicit. */
  readonly host?: string;
  /**
   * With a token, `/metrics` and `/api/*` require `Authorization: Bearer <token>` (or
   * `?token=<token>`, which the status page passes on). The page's static files need none.
   */
  readonly token?: string;
}

/** What the server shows: it only reads. */
export interface ObserverContent {
  metrics(): Promise<{ contentType: string; body: string }>;
  status(): unknown;
  /** Registers a listener called whenever the status changed; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

const STATIC_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

const SSE_PUSH_MIN_MS = 250;
const SSE_KEEPALIVE_MS = 15_000;

let staticCache: Map<string, Buffer> | undefined;

/** The page's files, shipped in the package next to this module (`static/`). */
function staticFiles(): Map<string, Buffer> {
  if (staticCache !== undefined) return staticCache;
  const dir = new URL('./static/', import.meta.url);
  const files = new Map<string, Buffer>();
  for (const name of ['index.html', 'app.js', 'style.css']) {
    try {
      files.set(name, readFileSync(new URL(name, dir)));
    } catch (err) {
      throw new TributaryError(
        'ENVIRONMENT',
        `status page file ${fileURLToPath(new URL(name, dir))} is missing (${errorMessage(err)}); the package was built without its static files`,
        { cause: err },
      );
    }
  }
  staticCache = files;
  return files;
}

/**
 * The observer's HTTP server: status page at `/`, Prometheus metrics at `/metrics`, the status
 * as JSON at `/api/status` and as server-sent events at `/api/events`. GET and HEAD only;
 * malformed, oversized or unauthorised requests get a 4xx answer and touch nothing else.
 */
export class ObserverHttpServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly streams = new Set<ServerResponse>();
  private readonly token: Buffer | undefined;
  private address: AddressInfo | undefined;

  private constructor(
    options: HttpServerOptions,
    private readonly content: ObserverContent,
  ) {
    this.token = options.token === undefined ? undefined : digest(options.token);
    this.server = createServer(
      { maxHeaderSize: HTTP_LIMITS.maxHeaderBytes, requireHostHeader: false },
      (req, res) => this.handle(req, res),
    );
    this.server.maxConnections = HTTP_LIMITS.maxConnections;
    this.server.headersTimeout = HTTP_LIMITS.headersTimeoutMs;
    this.server.requestTimeout = HTTP_LIMITS.requestTimeoutMs;
    this.server.keepAliveTimeout = HTTP_LIMITS.keepAliveTimeoutMs;
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const status =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? '408 Request Timeout'
            : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    });
  }

  static async start(
    options: HttpServerOptions,
    content: ObserverContent,
  ): Promise<ObserverHttpServer> {
    validate(options);
    staticFiles(); // fail at start, not at the first page view
    const server = new ObserverHttpServer(options, content);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          new TributaryError(
            'ENVIRONMENT',
            `observer HTTP server: cannot listen on ${options.host ?? '127.0.0.1'}:${options.port}: ${err.message}`,
            { cause: err, details: { code: err.code } },
          ),
        );
      };
      server.server.once('error', onError);
      server.server.listen(options.port, options.host ?? '127.0.0.1', () => {
        server.server.off('error', onError);
        resolve();
      });
    });
    server.address = server.server.address() as AddressInfo;
    return server;
  }

  /** `http://host:port/` as a browser reaches it. */
  get url(): string {
    const a = this.address as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}/`;
  }

  get port(): number {
    return (this.address as AddressInfo).port;
  }

  /** Ends event streams, stops listening and closes every connection. */
  async close(): Promise<void> {
    for (const res of this.streams) res.end();
    this.streams.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.route(req, res);
    } catch (err) {
      // a bug here must not reach the job: answer 500 and go on
      if (!res.headersSent)
        this.send(res, 500, 'text/plain', `internal error: ${errorMessage(err)}\n`);
      else res.destroy();
    }
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const rawUrl = req.url ?? '/';
    if (rawUrl.length > HTTP_LIMITS.maxUrlLength) {
      this.send(res, 414, 'text/plain', 'URI too long\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      this.send(res, 405, 'text/plain', 'read-only: GET and HEAD only\n');
      return;
    }
    const length = req.headers['content-length'];
    if (
      (length !== undefined && length !== '0') ||
      req.headers['transfer-encoding'] !== undefined
    ) {
      this.send(res, 413, 'text/plain', 'requests carry no body here\n');
      return;
    }
    let url: URL;
    try {
      url = new URL(rawUrl, 'http://localhost');
    } catch {
      this.send(res, 400, 'text/plain', 'malformed URL\n');
      return;
    }
    const page = STATIC_FILES[url.pathname];
    if (page !== undefined) {
      this.send(res, 200, page.type, staticFiles().get(page.file) as Buffer, req.method === 'HEAD');
      return;
    }
    if (url.pathname === '/healthz') {
      this.send(res, 200, 'text/plain', 'ok\n', req.method === 'HEAD');
      return;
    }
    const known = ['/metrics', '/api/status', '/api/events'];
    if (!known.includes(url.pathname)) {
      this.send(res, 404, 'text/plain', 'not found\n');
      return;
    }
    if (!this.authorised(req, url)) {
      res.setHeader('www-authenticate', 'Bearer realm="tributary"');
      this.send(res, 401, 'text/plain', 'a bearer token is required\n');
      return;
    }
    switch (url.pathname) {
      case '/metrics':
        this.content.metrics().then(
          ({ contentType, body }) => this.send(res, 200, contentType, body, req.method === 'HEAD'),
          (err: unknown) =>
            this.send(res, 500, 'text/plain', `metrics failed: ${errorMessage(err)}\n`),
        );
        return;
      case '/api/status':
        this.send(
          res,
          200,
          'application/json; charset=utf-8',
          JSON.stringify(this.content.status()),
          req.method === 'HEAD',
        );
        return;
      case '/api/events':
        this.eventStream(req, res);
        return;
    }
  }

  private authorised(req: IncomingMessage, url: URL): boolean {
    if (this.token === undefined) return true;
    const header = req.headers.authorization;
    const given =
      header !== undefined && /^bearer\s+/i.test(header)
        ? header.replace(/^bearer\s+/i, '')
        : url.searchParams.get('token');
    if (given === null || given === '') return false;
    return timingSafeEqual(digest(given), this.token);
  }

  private eventStream(req: IncomingMessage, res: ServerResponse): void {
    if (this.streams.size >= HTTP_LIMITS.maxEventStreams) {
      res.setHeader('retry-after', '5');
      this.send(res, 503, 'text/plain', 'too many event streams\n');
      return;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    this.streams.add(res);
    req.socket.setTimeout(0);
    let timer: NodeJS.Timeout | undefined;
    let lastPush = 0;
    const push = (): void => {
      timer = undefined;
      lastPush = Date.now();
      // a slow reader gets fewer updates, never a growing buffer
      if (res.writableLength > 256 * 1024) return;
      res.write(`event: status\ndata: ${JSON.stringify(this.content.status())}\n\n`);
    };
    const schedule = (): void => {
      if (timer !== undefined) return;
      timer = setTimeout(push, Math.max(0, lastPush + SSE_PUSH_MIN_MS - Date.now()));
    };
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), SSE_KEEPALIVE_MS);
    const unsubscribe = this.content.onChange(schedule);
    const end = (): void => {
      unsubscribe();
      clearInterval(keepAlive);
      if (timer !== undefined) clearTimeout(timer);
      this.streams.delete(res);
    };
    res.on('close', end);
    res.write('retry: 2000\n\n');
    push();
  }

  private send(
    res: ServerResponse,
    status: number,
    type: string,
    body: string | Buffer,
    headOnly = false,
  ): void {
    if (res.headersSent) return;
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'content-type': type,
      'content-length': String(bytes.length),
      ...(status >= 400 ? { connection: 'close' } : {}),
    });
    res.end(headOnly ? undefined : bytes);
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function validate(options: HttpServerOptions): void {
  const { port, host, token } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `http.port: must be an integer from 0 to 65535 (0 = any free port), got ${String(port)}`,
    );
  }
  if (host !== undefined && (typeof host !== 'string' || host.trim() === '')) {
    throw new TributaryError(
      'CONFIG_INVALID',
      'http.host: must be a non-empty host name or address',
    );
  }
  if (token !== undefined && (typeof token !== 'string' || token.length < 8)) {
    throw new TributaryError(
      'CONFIG_INVALID',
      'http.token: must be a string of at least 8 characters',
    );
  }
}

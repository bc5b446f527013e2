import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServiceStatus } from '../data-collector.js';

/** What the HTTP server serves: the status snapshot of the running daemon. */
export interface StatusSource {
  status(): ServiceStatus;
}

/** One request as a route sees it, with the server's one way of answering (masked, no-store). */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** The path without the query string. */
  path: string;
  query: URLSearchParams;
  /** The groups of the route's `path` pattern. */
  params: string[];
  /** Answers JSON for an object, the text itself for a string; every answer is masked. */
  send(code: number, body: unknown, type?: string, headers?: Record<string, string>): void;
}

/** A path the status server answers; every route but the liveness probe sits behind the token. */
export interface Route {
  method: 'GET' | 'POST';
  /** Exact path, or a pattern whose groups become `params`. */
  path: string | RegExp;
  handle(ctx: RouteContext): void | Promise<void>;
}

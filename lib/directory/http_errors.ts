/**
 * Refusals as `HTTPException`s whose response is the JSON body every client
 * of the directory expects: `{ "error": "One sentence" }`, plus any headers
 * (`Retry-After`).
 *
 * @module
 */

import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * An `HTTPException` carrying `{ error: message }` as JSON.
 *
 * @example
 * ```ts ignore
 * throw refuse(429, "Too many registrations from this address", {
 *   "Retry-After": "10",
 * });
 * ```
 */
export function refuse(
  status: ContentfulStatusCode,
  message: string,
  headers: Record<string, string> = {},
): HTTPException {
  return new HTTPException(status, {
    message,
    res: new Response(JSON.stringify({ error: message }), {
      headers: {
        "content-type": "application/json; charset=utf-8",
        ...headers,
      },
    }),
  });
}

/**
 * Reads a request body of at most `maxBytes` and parses it as JSON.
 *
 * @throws {HTTPException} 413 when the body is larger (checked on the
 * declared length first, then while reading, so a lying client cannot make
 * us buffer more), 400 when it is not JSON
 */
export async function readJsonBody(
  request: Request,
  maxBytes: number,
): Promise<unknown> {
  const tooLarge = () =>
    refuse(413, `The request body is too large: limit is ${maxBytes} bytes`);
  const declared = request.headers.get("content-length");
  if (declared !== null && !(Number(declared) <= maxBytes)) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw refuse(400, "The request body is not UTF-8 text");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw refuse(400, "The request body is not valid JSON");
  }
}

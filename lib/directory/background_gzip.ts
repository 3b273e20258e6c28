/**
 * gzip on a worker thread, so that compressing a multi-megabyte relay list
 * (about 100 ms for 8 MB) never stalls the directory's event loop: both
 * `CompressionStream` and `node:zlib` compress on the calling thread in Deno.
 *
 * The worker is made from an inline source (a `blob:` URL), so the bundled
 * program needs no file beside it.
 *
 * @module
 */

const WORKER_SOURCE = `
self.onmessage = async (event) => {
  const { id, bytes } = event.data;
  try {
    const stream = new Blob([bytes]).stream()
      .pipeThrough(new CompressionStream("gzip"));
    const out = new Uint8Array(await new Response(stream).arrayBuffer());
    self.postMessage({ id, bytes: out }, [out.buffer]);
  } catch (error) {
    self.postMessage({ id, error: String(error) });
  }
};
`;

/** A worker that gzips byte arrays, one at a time, in order. */
export class BackgroundGzip {
  readonly #worker: Worker;
  readonly #url: string;
  readonly #pending = new Map<
    number,
    { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }
  >();
  #next = 0;
  #closed = false;

  constructor() {
    this.#url = URL.createObjectURL(
      new Blob([WORKER_SOURCE], { type: "text/javascript" }),
    );
    this.#worker = new Worker(this.#url, { type: "module" });
    this.#worker.onmessage = (event) => {
      const { id, bytes, error } = event.data;
      const pending = this.#pending.get(id);
      if (!pending) return;
      this.#pending.delete(id);
      if (error) pending.reject(new Error(error));
      else pending.resolve(bytes);
    };
  }

  /** The gzip of `bytes` (which is copied, not transferred). */
  compress(bytes: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) {
      return Promise.reject(new Error("Cannot compress after close"));
    }
    const id = this.#next++;
    const { promise, resolve, reject } = Promise.withResolvers<Uint8Array>();
    this.#pending.set(id, { resolve, reject });
    this.#worker.postMessage({ id, bytes });
    return promise;
  }

  /** Stops the worker; pending compressions fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.terminate();
    URL.revokeObjectURL(this.#url);
    for (const pending of this.#pending.values()) {
      pending.reject(new Error("The compressor was closed"));
    }
    this.#pending.clear();
  }
}

// The bundled program serves the directory, its dashboard and its assets
// from an empty folder: nothing is read from the source tree at run time.
import assert from "node:assert/strict";
import { join } from "node:path";
import { collectJsonLines } from "../json_lines_for_testing.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

Deno.test("the bundled serve-directory serves the dashboard from an empty folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "altnet-bundle-dir-" });
  try {
    const bundle = join(dir, "altnet.js");
    const built = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--output", bundle, join(ROOT, "main.ts")],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(built.code, 0, new TextDecoder().decode(built.stderr));
    const work = join(dir, "empty-cwd");
    await Deno.mkdir(work);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-config",
        "--cached-only",
        "--unstable-net",
        "--allow-all",
        bundle,
        "serve-directory",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--json",
      ],
      cwd: work,
      env: {
        NO_COLOR: "1",
        DENO_DIR: join(dir, "empty-deno-dir"),
        XDG_CONFIG_HOME: join(dir, "config"),
      },
      clearEnv: true,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = collectJsonLines(child);
    try {
      const ready = await lines.waitFor((e) => e.event === "ready", 30_000);
      const url = ready.url as string;
      for (
        const [path, type] of [
          ["/", "text/html"],
          ["/app.js", "text/javascript"],
          ["/app.css", "text/css"],
          ["/v1/relays", "application/json"],
          ["/metrics", "text/plain"],
        ]
      ) {
        const response = await fetch(url + path);
        assert.equal(response.status, 200, path);
        assert.ok(response.headers.get("content-type")!.startsWith(type), path);
        await response.body?.cancel();
      }
      const stats = await lines.waitFor((e) => e.event === "ready");
      assert.equal(stats.db, join(dir, "config", "altnet", "directory.db"));
      assert.deepEqual(
        [...Deno.readDirSync(work)],
        [],
        "nothing written to cwd",
      );
    } finally {
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0);
      await lines.ended;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

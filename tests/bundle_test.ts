// The executable must not read the source tree at run time: bundle main.ts
// into a temporary folder and run it from an empty working directory, with
// an empty Deno cache and no config file, so only the bundle itself is used.
import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("the bundled program runs --help and keygen from an empty folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "altnet-bundle-" });
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
    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          "--no-config",
          "--cached-only",
          "--unstable-net",
          "--allow-all",
          bundle,
          ...args,
        ],
        cwd: work,
        env: {
          NO_COLOR: "1",
          DENO_DIR: join(dir, "empty-deno-dir"),
          XDG_CONFIG_HOME: join(dir, "config"),
        },
        clearEnv: true,
      }).output();

    const help = await run(["--help"]);
    const helpText = new TextDecoder().decode(help.stdout);
    assert.equal(help.code, 0, new TextDecoder().decode(help.stderr));
    assert.match(helpText, /keygen/);
    assert.match(helpText, /serve-directory/);

    const keygen = await run(["keygen", "--json"]);
    assert.equal(keygen.code, 0, new TextDecoder().decode(keygen.stderr));
    const event = JSON.parse(new TextDecoder().decode(keygen.stdout));
    assert.match(event.fingerprint, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){4}$/);
    const info = await Deno.stat(join(dir, "config", "altnet", "identity"));
    assert.equal(info.mode! & 0o777, 0o600);
    assert.deepEqual([...Deno.readDirSync(work)], [], "nothing written to cwd");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile.sh explains in one line when it cannot build", async () => {
  const result = await new Deno.Command("bash", {
    args: [join(ROOT, "compile.sh"), "x86_64"],
    env: { DENORT_BIN: "/nonexistent/denort", NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(result.stderr).trim();
  assert.notEqual(result.code, 0);
  assert.equal(stderr.split("\n").length, 1, stderr);
  assert.match(stderr, /DENORT_BIN is not an executable file/);
});

Deno.test("compile.sh says in one line that the runtime cannot be downloaded", async () => {
  // A dead proxy for dl.deno.land (the npm registry stays reachable) and an
  // empty Deno cache make the runtime download fail the same way everywhere.
  const denoDir = await Deno.makeTempDir({ prefix: "altnet-compile-" });
  try {
    const result = await new Deno.Command("bash", {
      args: [join(ROOT, "compile.sh"), "aarch64"],
      env: {
        NO_COLOR: "1",
        DENO_DIR: denoDir,
        HTTPS_PROXY: "http://127.0.0.1:9",
        HTTP_PROXY: "http://127.0.0.1:9",
        NO_PROXY: "registry.npmjs.org,localhost,127.0.0.1",
      },
    }).output();
    const stderr = new TextDecoder().decode(result.stderr).trim();
    assert.notEqual(result.code, 0);
    assert.equal(stderr.split("\n").length, 1, stderr);
    assert.match(
      stderr,
      /cannot download the Deno runtime for aarch64.*DENORT_BIN/,
    );
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
});

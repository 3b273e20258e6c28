// The command line as a user meets it: real processes, real exit codes.
import assert from "node:assert/strict";
import { join } from "node:path";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function altnet(
  args: string[],
  options: { env?: Record<string, string> } = {},
) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-all", MAIN, ...args],
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    code: output.code,
    stdout: decode(output.stdout),
    stderr: decode(output.stderr),
  };
}

const SUBCOMMANDS = [
  "keygen",
  "relay",
  "serve-directory",
  "chat",
  "send",
  "receive",
  "punch",
  "list",
  "ping",
];

Deno.test("altnet --help lists every subcommand of the brief and exits 0", async () => {
  const { code, stdout, stderr } = await altnet(["--help"]);
  assert.equal(code, 0);
  assert.equal(stderr, "");
  for (const name of SUBCOMMANDS) {
    assert.match(stdout, new RegExp(`^  ${name} `, "m"), name);
  }
});

Deno.test("each subcommand's --help documents its flags on stdout", async () => {
  const expected: Record<string, string[]> = {
    keygen: ["--identity", "--force"],
    relay: [
      "--host",
      "--port",
      "--directory",
      "--metrics-port",
      "--max-reservations",
      "--max-circuits-per-peer",
      "--max-circuit-bytes",
    ],
    "serve-directory": ["--host", "--port", "--db"],
    chat: [
      "--relay",
      "--hops",
      "--directory",
      "--json",
      "--accept-files",
      "--out",
      "/send",
    ],
    send: ["--relay", "--hops", "--json"],
    receive: ["--relay", "--out", "--yes", "--json"],
    punch: ["--relay", "--json"],
    list: ["--directory", "--json"],
    ping: ["--directory", "--json"],
  };
  for (const [name, flags] of Object.entries(expected)) {
    const { code, stdout } = await altnet([name, "--help"]);
    assert.equal(code, 0, name);
    for (const flag of flags) {
      assert.ok(stdout.includes(flag), `${name} ${flag}`);
    }
  }
});

Deno.test("user mistakes get one line on stderr and exit code 2", async () => {
  const cases: [string[], RegExp][] = [
    [["frobnicate"], /^altnet: unknown command: frobnicate$/m],
    [["relay", "--port", "70000"], /Invalid port for --port: 70000/],
    [["relay", "--prot", "1"], /Unknown flag for 'altnet relay': --prot/],
    [["chat", "alice", "9001"], /Missing argument .*<peer>/],
    [["chat", "Alice!", "9001", "bob"], /Invalid name for <name>: Alice!/],
    [["chat", "alice", "9001", "bob:99999"], /Invalid port for <peer>/],
    [["send", "alice", "0", "bob", "/no/such/file"], /Cannot find the file/],
    [["ping", "--count", "0"], /Invalid value for --count: 0/],
    [["list", "--directory", "ftp://x"], /only http and https/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await altnet(args);
    assert.equal(code, 2, args.join(" "));
    assert.match(stderr, message, args.join(" "));
    if (args[0] !== "frobnicate") {
      assert.equal(stderr.trim().split("\n").length, 1, stderr);
    }
    assert.doesNotMatch(stderr, /\bat .*\.ts:\d+/, "no stack trace");
  }
});

Deno.test("commands not built yet say so and exit non-zero", async () => {
  const { code, stderr } = await altnet([
    "chat",
    "alice",
    "0",
    "bob",
    "--relay",
    "127.0.0.1:9",
    "--hops",
    "2",
  ]);
  assert.notEqual(code, 0);
  assert.match(stderr, /not available yet/);
});

Deno.test("keygen creates a 0600 identity, shows it, and refuses to overwrite", async () => {
  const home = await Deno.makeTempDir({ prefix: "altnet-cli-" });
  try {
    const env = { XDG_CONFIG_HOME: home };
    const created = await altnet(["keygen", "--json"], { env });
    assert.equal(created.code, 0, created.stderr);
    const event = JSON.parse(created.stdout);
    assert.equal(event.event, "done");
    assert.match(event.fingerprint, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){4}$/);
    const path = join(home, "altnet", "identity");
    assert.equal(event.path, path);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);

    const shown = await altnet(["keygen", "--show"], { env });
    assert.equal(shown.code, 0);
    assert.ok(shown.stdout.includes(event.fingerprint));

    const again = await altnet(["keygen"], { env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists.*--force/);

    const forced = await altnet(["keygen", "--force", "--json"], { env });
    assert.equal(forced.code, 0);
    assert.notEqual(JSON.parse(forced.stdout).fingerprint, event.fingerprint);

    await Deno.chmod(path, 0o644);
    const open = await altnet(["keygen", "--show"], { env });
    assert.equal(open.code, 1);
    assert.match(open.stderr, /readable by group or others.*chmod 600/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("--identity and ALTNET_IDENTITY choose the identity file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "altnet-cli-" });
  try {
    const byFlag = join(dir, "flag-id");
    const byEnv = join(dir, "env-id");
    const a = await altnet(["keygen", "--identity", byFlag]);
    assert.equal(a.code, 0, a.stderr);
    const b = await altnet(["keygen"], { env: { ALTNET_IDENTITY: byEnv } });
    assert.equal(b.code, 0, b.stderr);
    await Deno.stat(byFlag);
    await Deno.stat(byEnv);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with --json an error is also an error event on stdout", async () => {
  const { code, stdout, stderr } = await altnet([
    "relay",
    "--port",
    "70000",
    "--json",
  ]);
  assert.equal(code, 2);
  const event = JSON.parse(stdout.trim());
  assert.equal(event.event, "error");
  assert.match(event.message, /Invalid port/);
  assert.match(stderr, /Invalid port/);
});

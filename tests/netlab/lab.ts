/**
 * A NAT lab made of real Linux network namespaces, so traversal tests run
 * against real kernels: real routing, real conntrack, real MASQUERADE.
 *
 * ```text
 *                      internet (203.0.113.1, a plain router)
 *        ┌──────────────┬───────┴──────┬─────────────────────┐
 *     relay .2     extra hosts .3…   site 0 NAT .10      site 1 NAT .11 …
 *                                      │ 10.1.0.1/24         │ 10.2.0.1/24
 *                                    peers 10.1.0.2…       peers 10.2.0.2…
 * ```
 *
 * Needs root, `ip` (iproute2) and `iptables` (either backend). See README.md.
 *
 * @example
 * ```ts
 * await using lab = await createLab({ sites: [{ nat: "cone" }] });
 * const { stdout } = await lab.run(lab.sites[0].peers[0].ns, ["ip", "addr"]);
 * ```
 *
 * @module
 */

/**
 * How a site reaches the internet.
 *
 * - `cone`: port-preserving MASQUERADE (endpoint-independent mapping) behind a
 *   stateful firewall that only lets in replies (port-restricted filtering).
 * - `symmetric`: MASQUERADE `--random-fully` (a new public port per
 *   destination) behind the same firewall.
 * - `bare`: port-preserving MASQUERADE and no firewall at all.
 * - `none`: the one peer has a public address of its own.
 */
export type NatType = "cone" | "symmetric" | "bare" | "none";

/** Which way packets are dropped on a site's WAN link. */
export type LossDirection = "both" | "inbound" | "outbound";

/** One site: a NAT router and the peers on its LAN. */
export interface SiteSpec {
  nat: NatType;
  /** Peers on the LAN; default 1, and exactly 1 for `none`. */
  peers?: number;
  /** The LAN as `a.b.c.0/24`; default `10.<site + 1>.0.0/24`. */
  lan?: string;
  /** Probability of dropping each packet on the WAN link, both ways. */
  loss?: number;
  /** Conntrack UDP timeouts in the NAT router (unreplied and stream). */
  udpTimeoutSeconds?: number;
}

/** The whole topology. */
export interface LabSpec {
  sites: SiteSpec[];
  /** Public hosts besides the relay, by short name, e.g. `["stun2"]`. */
  publicHosts?: string[];
}

/** A namespace and its IPv4 address. */
export interface Host {
  ns: string;
  address: string;
}

/** A built site. For `none`, `nat` is the peer itself. */
export interface Site {
  type: NatType;
  nat: { ns: string; publicAddress: string; lanAddress?: string };
  peers: Host[];
  /** The LAN prefix, absent for `none`. */
  lan?: string;
}

/** What a command run in a namespace returned. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@linkcode Lab.run}. */
export interface RunOptions {
  /** Text written to the command's stdin, which is then closed. */
  stdin?: string;
  signal?: AbortSignal;
  env?: Record<string, string>;
}

/** Options for {@linkcode Lab.spawn}; streams default to stdin null, others piped. */
export interface SpawnOptions {
  stdin?: "piped" | "inherit" | "null";
  stdout?: "piped" | "inherit" | "null";
  stderr?: "piped" | "inherit" | "null";
  env?: Record<string, string>;
}

/** A running lab. Tear it down, or `await using` it. */
export interface Lab extends AsyncDisposable {
  /** The random name prefix of every namespace of this lab. */
  prefix: string;
  /** The router between all public addresses. */
  internet: Host;
  relay: Host;
  /** The extra public hosts, by the names given in the spec. */
  hosts: Record<string, Host>;
  sites: Site[];
  /** Runs a command inside a namespace and collects its output. */
  run(ns: string, cmd: string[], options?: RunOptions): Promise<RunResult>;
  /** Starts a command inside a namespace; teardown kills it if still running. */
  spawn(ns: string, cmd: string[], options?: SpawnOptions): Deno.ChildProcess;
  /** Replaces the random loss on a site's WAN link; 0 removes it. */
  setLoss(
    site: number,
    probability: number,
    options?: { direction?: LossDirection },
  ): Promise<void>;
  /** Kills what runs in the lab and deletes its namespaces. Idempotent. */
  teardown(): Promise<void>;
}

const PUBLIC_PREFIX = "203.0.113"; // RFC 5737 TEST-NET-3
const INTERNET_ADDRESS = `${PUBLIC_PREFIX}.1`;
const RELAY_ADDRESS = `${PUBLIC_PREFIX}.2`;
const FIRST_HOST_OCTET = 3;
const FIRST_SITE_OCTET = 10;
const MAX_PUBLIC_HOSTS = FIRST_SITE_OCTET - FIRST_HOST_OCTET;
const MAX_SITES = 250 - FIRST_SITE_OCTET;
const MAX_PEERS = 200;

/** Every lab namespace is named `an` + 4 random characters + `-` + role. */
const NAMESPACE_PATTERN = /^an[0-9a-z]{4}-/;
/** Owner records of live labs, so a later run can remove a dead run's leftovers. */
const OWNER_DIR = "/run/altnet-netlab";

const INSTALL_HINT =
  "install the Debian packages iproute2 and iptables (apt-get install -y iproute2 iptables)";

/**
 * Throws a clear error unless this process can build a lab: root, `ip` and
 * `iptables` present.
 */
export async function checkLabPrerequisites(): Promise<void> {
  if (Deno.build.os !== "linux") {
    throw new Error(
      `Cannot build the NAT lab as it needs Linux: this is ${Deno.build.os}`,
    );
  }
  for (
    const [binary, args] of [["ip", ["-V"]], ["iptables", ["-V"]]] as const
  ) {
    try {
      await new Deno.Command(binary, {
        args: [...args],
        stdout: "null",
        stderr: "null",
      })
        .output();
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new Error(
        `Cannot build the NAT lab as ${binary} is missing: ${INSTALL_HINT}`,
      );
    }
  }
  if (Deno.uid() !== 0) {
    throw new Error(
      `Cannot build the NAT lab as it needs root for network namespaces: run the tests as root (uid is ${Deno.uid()})`,
    );
  }
}

/**
 * The command line that runs a Deno script with every permission and
 * unstable UDP, for {@linkcode Lab.run} and {@linkcode Lab.spawn}.
 */
export function denoCommand(
  script: string | URL,
  args: string[] = [],
): string[] {
  const path = script instanceof URL ? script.pathname : script;
  return [
    Deno.execPath(),
    "run",
    "--quiet",
    "--allow-all",
    "--unstable-net",
    path,
    ...args,
  ];
}

/** Names of the lab namespaces that exist now, of every run. */
export async function listLabNamespaces(): Promise<string[]> {
  const { stdout } = await exec("ip", ["netns", "list"]);
  return stdout.split("\n")
    .map((line) => line.split(" ")[0])
    .filter((name) => NAMESPACE_PATTERN.test(name));
}

interface OwnerRecord {
  pid: number;
  startTime: string;
  namespaces: string[];
}

/**
 * Deletes the namespaces of labs whose process has died (a crashed or killed
 * test run) and returns their names. Live labs of parallel runs are kept.
 */
export async function removeStaleLabs(): Promise<string[]> {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(OWNER_DIR));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return removed;
    throw error;
  }
  for (const entry of entries) {
    const path = `${OWNER_DIR}/${entry.name}`;
    let owner: OwnerRecord;
    try {
      owner = JSON.parse(await Deno.readTextFile(path));
    } catch {
      continue; // being written or removed by another run
    }
    if (await processStartTime(owner.pid) === owner.startTime) continue;
    await deleteNamespaces(owner.namespaces);
    await Deno.remove(path).catch(() => {});
    removed.push(...owner.namespaces);
  }
  return removed;
}

/**
 * Builds a lab: the internet router, the relay, the extra public hosts and
 * every site with its NAT and peers. On failure it removes what it built.
 */
export async function createLab(spec: LabSpec): Promise<Lab> {
  validateSpec(spec);
  await checkLabPrerequisites();
  await removeStaleLabs();

  const prefix = await freshPrefix();
  const plan = planTopology(prefix, spec);
  const namespaces = plan.nodes.map((node) => node.ns);
  await Deno.mkdir(OWNER_DIR, { recursive: true });
  const ownerPath = `${OWNER_DIR}/${prefix}.json`;
  const owner: OwnerRecord = {
    pid: Deno.pid,
    startTime: (await processStartTime(Deno.pid))!,
    namespaces,
  };
  await Deno.writeTextFile(ownerPath, JSON.stringify(owner));

  const children = new Set<Deno.ChildProcess>();
  let tornDown = false;
  const teardown = async () => {
    if (tornDown) return;
    tornDown = true;
    await Promise.all([...children].map(stopChild));
    children.clear();
    await deleteNamespaces(namespaces);
    await Deno.remove(ownerPath).catch(() => {});
  };

  try {
    await buildTopology(plan);
    for (const [index, site] of spec.sites.entries()) {
      if (site.loss) {
        await applyLoss(`${prefix}-inet`, index, site.loss, "both");
      }
    }
  } catch (error) {
    await teardown();
    throw error;
  }

  const lab: Lab = {
    prefix,
    internet: { ns: `${prefix}-inet`, address: INTERNET_ADDRESS },
    relay: { ns: `${prefix}-relay`, address: RELAY_ADDRESS },
    hosts: plan.hosts,
    sites: plan.sites,
    run: (ns, cmd, options) => runIn(ns, cmd, options),
    spawn(ns, cmd, options = {}) {
      if (tornDown) {
        throw new Error(`Cannot spawn in a torn-down lab: ${prefix}`);
      }
      const child = new Deno.Command("ip", {
        args: ["netns", "exec", ns, ...cmd],
        stdin: options.stdin ?? "null",
        stdout: options.stdout ?? "piped",
        stderr: options.stderr ?? "piped",
        env: { DENO_NO_UPDATE_CHECK: "1", ...options.env },
      }).spawn();
      children.add(child);
      child.status.then(() => children.delete(child));
      return child;
    },
    async setLoss(site, probability, options = {}) {
      if (!Number.isInteger(site) || site < 0 || site >= plan.sites.length) {
        throw new RangeError(
          `Cannot set loss on a site the lab lacks: ${site}`,
        );
      }
      const direction = options.direction ?? "both";
      await applyLoss(lab.internet.ns, site, probability, direction);
    },
    teardown,
    [Symbol.asyncDispose]: teardown,
  };
  return lab;
}

// ---------------------------------------------------------------------------
// Planning: names, addresses and per-namespace configuration, no I/O.

interface Node {
  ns: string;
  /** Interfaces this node owns, for per-interface sysctls. */
  interfaces: string[];
  forwarding: boolean;
  /** `ip -batch` lines run in the namespace. */
  ipLines: string[];
  /** `iptables-restore` input, if any. */
  rules?: string;
  udpTimeoutSeconds?: number;
}

/** A veth pair created straight into two namespaces. */
interface Link {
  a: { ns: string; name: string };
  b: { ns: string; name: string };
}

interface Plan {
  nodes: Node[];
  links: Link[];
  hosts: Record<string, Host>;
  sites: Site[];
}

function validateSpec(spec: LabSpec): void {
  if (spec.sites.length > MAX_SITES) {
    throw new RangeError(
      `Cannot build more sites than ${MAX_SITES}: got ${spec.sites.length}`,
    );
  }
  const names = spec.publicHosts ?? [];
  if (names.length > MAX_PUBLIC_HOSTS) {
    throw new RangeError(
      `Cannot build more public hosts than ${MAX_PUBLIC_HOSTS}: got ${names.length}`,
    );
  }
  for (const name of names) {
    // Site namespaces are -s<i> and -s<i>p<j>; relay and inet are taken.
    const reserved = /^s\d/.test(name) || name === "relay" || name === "inet";
    if (!/^[a-z][a-z0-9]{0,7}$/.test(name) || reserved) {
      throw new TypeError(
        `Cannot use this public host name, use 1-8 of [a-z0-9], not relay, inet or s<digit>…: ${name}`,
      );
    }
  }
  if (new Set(names).size !== names.length) {
    throw new TypeError(
      `Cannot use a public host name twice: ${names.join(", ")}`,
    );
  }
  for (const [index, site] of spec.sites.entries()) {
    const peers = site.peers ?? 1;
    if (!["cone", "symmetric", "bare", "none"].includes(site.nat)) {
      throw new TypeError(
        `Cannot build site ${index} with an unknown NAT type: ${site.nat}`,
      );
    }
    if (!Number.isInteger(peers) || peers < 1 || peers > MAX_PEERS) {
      throw new RangeError(
        `Cannot build site ${index} with this many peers: ${peers}`,
      );
    }
    if (site.nat === "none" && peers !== 1) {
      throw new RangeError(
        `Cannot put more than one peer on a "none" site: site ${index}`,
      );
    }
    if (site.lan !== undefined && !/^\d+\.\d+\.\d+\.0\/24$/.test(site.lan)) {
      throw new TypeError(`Cannot use this LAN, give a.b.c.0/24: ${site.lan}`);
    }
    checkProbability(site.loss ?? 0);
    const timeout = site.udpTimeoutSeconds;
    if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) {
      throw new RangeError(
        `Cannot set a UDP timeout other than whole seconds: ${timeout}`,
      );
    }
  }
}

function checkProbability(probability: number): void {
  if (!(probability >= 0 && probability <= 1)) {
    throw new RangeError(
      `Cannot drop packets with this probability: ${probability}`,
    );
  }
}

/** Host side of a public link: a /32 with the internet router on-link. */
function publicHostLines(address: string, dev: string): string[] {
  return [
    `addr add ${address}/32 dev ${dev}`,
    `link set ${dev} up`,
    `route add ${INTERNET_ADDRESS}/32 dev ${dev} scope link`,
    `route add default via ${INTERNET_ADDRESS} dev ${dev}`,
  ];
}

function planTopology(prefix: string, spec: LabSpec): Plan {
  const internet: Node = {
    ns: `${prefix}-inet`,
    interfaces: [],
    forwarding: true,
    ipLines: ["link set lo up"],
  };
  const lossChains: string[] = [];
  const nodes: Node[] = [internet];
  const links: Link[] = [];

  /** Wires a public address to the internet router on its own link. */
  const attach = (
    node: Node,
    dev: string,
    address: string,
    internetDev: string,
  ) => {
    links.push({
      a: { ns: internet.ns, name: internetDev },
      b: { ns: node.ns, name: dev },
    });
    internet.interfaces.push(internetDev);
    // The router shares one address over point-to-point links (unnumbered).
    internet.ipLines.push(
      `addr add ${INTERNET_ADDRESS}/32 dev ${internetDev}`,
      `link set ${internetDev} up`,
      `route add ${address}/32 dev ${internetDev}`,
    );
    node.interfaces.push(dev);
    node.ipLines.push(...publicHostLines(address, dev));
  };
  const publicHost = (role: string, address: string): Host => {
    const node: Node = {
      ns: `${prefix}-${role}`,
      interfaces: [],
      forwarding: false,
      ipLines: ["link set lo up"],
    };
    nodes.push(node);
    attach(node, "eth0", address, `h-${role}`);
    return { ns: node.ns, address };
  };

  publicHost("relay", RELAY_ADDRESS);
  const hosts: Record<string, Host> = {};
  for (const [index, name] of (spec.publicHosts ?? []).entries()) {
    hosts[name] = publicHost(
      name,
      `${PUBLIC_PREFIX}.${FIRST_HOST_OCTET + index}`,
    );
  }

  const sites = spec.sites.map((siteSpec, index): Site => {
    const publicAddress = `${PUBLIC_PREFIX}.${FIRST_SITE_OCTET + index}`;
    const wanDev = `s${index}`;
    lossChains.push(lossChain(index));
    if (siteSpec.nat === "none") {
      const node: Node = {
        ns: `${prefix}-s${index}p0`,
        interfaces: [],
        forwarding: false,
        ipLines: ["link set lo up"],
      };
      nodes.push(node);
      attach(node, "eth0", publicAddress, wanDev);
      const host = { ns: node.ns, address: publicAddress };
      return {
        type: "none",
        nat: { ns: node.ns, publicAddress },
        peers: [host],
      };
    }
    const lanBase = siteSpec.lan?.replace(/\.0\/24$/, "") ??
      `10.${index + 1}.0`;
    const lanAddress = `${lanBase}.1`;
    const router: Node = {
      ns: `${prefix}-s${index}`,
      interfaces: ["lan"],
      forwarding: true,
      ipLines: [
        "link set lo up",
        "link add lan type bridge",
        `addr add ${lanAddress}/24 dev lan`,
        "link set lan up",
      ],
      rules: natRules(siteSpec.nat),
      udpTimeoutSeconds: siteSpec.udpTimeoutSeconds,
    };
    nodes.push(router);
    attach(router, "wan", publicAddress, wanDev);
    const peers: Host[] = [];
    for (let p = 0; p < (siteSpec.peers ?? 1); p++) {
      const address = `${lanBase}.${2 + p}`;
      const peer: Node = {
        ns: `${prefix}-s${index}p${p}`,
        interfaces: ["eth0"],
        forwarding: false,
        ipLines: [
          "link set lo up",
          `addr add ${address}/24 dev eth0`,
          "link set eth0 up",
          `route add default via ${lanAddress} dev eth0`,
        ],
      };
      nodes.push(peer);
      links.push({
        a: { ns: router.ns, name: `lan${p}` },
        b: { ns: peer.ns, name: "eth0" },
      });
      router.interfaces.push(`lan${p}`);
      router.ipLines.push(`link set lan${p} master lan`, `link set lan${p} up`);
      peers.push({ ns: peer.ns, address });
    }
    return {
      type: siteSpec.nat,
      nat: { ns: router.ns, publicAddress, lanAddress },
      peers,
      lan: `${lanBase}.0/24`,
    };
  });

  // The internet stays stateless (no conntrack): it only routes, and drops
  // at random where a site's link is lossy. Each site's link jumps to its
  // own chain so setLoss can replace the rules atomically.
  internet.rules = [
    "*filter",
    ":INPUT ACCEPT [0:0]",
    ":FORWARD ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ...lossChains.map((chain) => `:${chain} - [0:0]`),
    ...sites.flatMap((_, index) => [
      `-A FORWARD -i s${index} -j ${lossChain(index)}`,
      `-A FORWARD -o s${index} -j ${lossChain(index)}`,
    ]),
    "COMMIT",
    "",
  ].join("\n");
  return { nodes, links, hosts, sites };
}

function lossChain(site: number): string {
  return `loss-s${site}`;
}

/** The iptables-restore input of a NAT router: `wan` faces out, `lan` in. */
function natRules(type: Exclude<NatType, "none">): string {
  const masquerade = type === "symmetric"
    ? "-A POSTROUTING -o wan -j MASQUERADE --random-fully"
    : "-A POSTROUTING -o wan -j MASQUERADE";
  const nat = [
    "*nat",
    ":PREROUTING ACCEPT [0:0]",
    ":INPUT ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":POSTROUTING ACCEPT [0:0]",
    masquerade,
    "COMMIT",
  ];
  // A bare router forwards and answers everything: a Linux box with only
  // MASQUERADE, as many guides set one up.
  const filter = type === "bare"
    ? [
      "*filter",
      ":INPUT ACCEPT [0:0]",
      ":FORWARD ACCEPT [0:0]",
      ":OUTPUT ACCEPT [0:0]",
      "COMMIT",
    ]
    : [
      "*filter",
      ":INPUT ACCEPT [0:0]",
      ":FORWARD ACCEPT [0:0]",
      ":OUTPUT ACCEPT [0:0]",
      "-A INPUT -i lo -j ACCEPT",
      "-A INPUT -i lan -j ACCEPT",
      "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
      // Explicit final drops, so their counters show what filtering stopped.
      "-A INPUT -j DROP",
      "-A FORWARD -i lan -o wan -j ACCEPT",
      "-A FORWARD -i wan -o lan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
      "-A FORWARD -j DROP",
      "COMMIT",
    ];
  return [...nat, ...filter, ""].join("\n");
}

/** The shell lines that set a node's sysctls inside its namespace. */
function sysctlScript(node: Node): string {
  const writes: [string, string][] = [
    ["net/ipv4/conf/all/rp_filter", "0"],
    ["net/ipv4/conf/default/rp_filter", "0"],
    ...node.interfaces.map((
      dev,
    ): [string, string] => [`net/ipv4/conf/${dev}/rp_filter`, "0"]),
    // IPv4 only: no router solicitations, no DAD, no stray IPv6 traffic.
    ["net/ipv6/conf/all/disable_ipv6", "1"],
    ["net/ipv6/conf/default/disable_ipv6", "1"],
    ["net/ipv4/ip_forward", node.forwarding ? "1" : "0"],
  ];
  if (node.udpTimeoutSeconds !== undefined) {
    const seconds = String(node.udpTimeoutSeconds);
    writes.push(
      ["net/netfilter/nf_conntrack_udp_timeout", seconds],
      ["net/netfilter/nf_conntrack_udp_timeout_stream", seconds],
    );
  }
  const lines = writes.map(([key, value]) =>
    `echo ${value} > /proc/sys/${key}`
  );
  // Where br_netfilter is loaded, bridged LAN frames would otherwise cross
  // iptables and the router's FORWARD policy would cut peers off each other.
  const bridgeNf = "/proc/sys/net/bridge/bridge-nf-call-iptables";
  lines.push(`if [ -e ${bridgeNf} ]; then echo 0 > ${bridgeNf}; fi`);
  return lines.join("\n");
}

// ---------------------------------------------------------------------------
// Doing: every step runs `ip`, `sh` or `iptables-restore`; one namespace's
// steps run in order, different namespaces in parallel.

async function buildTopology(plan: Plan): Promise<void> {
  await exec("ip", ["-batch", "-"], {
    stdin: [
      ...plan.nodes.map((node) => `netns add ${node.ns}`),
      ...plan.links.map(({ a, b }) =>
        `link add ${a.name} netns ${a.ns} type veth peer name ${b.name} netns ${b.ns}`
      ),
    ].join("\n"),
  });
  await Promise.all(plan.nodes.map(async (node) => {
    // ip first: sysctls name interfaces (the bridge) that it creates.
    await exec("ip", ["-n", node.ns, "-batch", "-"], {
      stdin: node.ipLines.join("\n"),
    });
    if (node.rules) {
      await exec("ip", ["netns", "exec", node.ns, "iptables-restore"], {
        stdin: node.rules,
      });
    }
    // After the rules: they are what starts conntrack in the namespace.
    await exec("ip", [
      "netns",
      "exec",
      node.ns,
      "sh",
      "-ec",
      sysctlScript(node),
    ]);
  }));
}

async function applyLoss(
  internetNs: string,
  site: number,
  probability: number,
  direction: LossDirection,
): Promise<void> {
  checkProbability(probability);
  const chain = lossChain(site);
  // Seen from the internet router, traffic into the site leaves through the
  // site's link (-o) and traffic out of the site comes in on it (-i).
  const matches =
    { inbound: ["-o"], outbound: ["-i"], both: ["-o", "-i"] }[direction];
  const rules = probability === 0
    ? []
    : matches.map((flag) =>
      `-A ${chain} ${flag} s${site} -m statistic --mode random --probability ${probability} -j DROP`
    );
  // Declaring the chain again under --noflush empties it first.
  await exec("ip", [
    "netns",
    "exec",
    internetNs,
    "iptables-restore",
    "--noflush",
  ], {
    stdin: ["*filter", `:${chain} - [0:0]`, ...rules, "COMMIT", ""].join("\n"),
  });
}

function runIn(
  ns: string,
  cmd: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return collect("ip", ["netns", "exec", ns, ...cmd], {
    ...options,
    env: { DENO_NO_UPDATE_CHECK: "1", ...options.env },
  });
}

/** Runs a program to its end and decodes its output. */
async function collect(
  program: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const child = new Deno.Command(program, {
    args,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
    env: options.env,
  }).spawn();
  if (options.stdin !== undefined) {
    // A program that exits without reading its stdin is not our error.
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin)).catch(() => {});
    await writer.close().catch(() => {});
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Runs one of the lab's own commands; throws with its stderr on failure. */
async function exec(
  program: string,
  args: string[],
  options: { stdin?: string } = {},
): Promise<RunResult> {
  const result = await collect(program, args, options);
  if (result.code !== 0) {
    const command = [program, ...args].join(" ");
    throw new Error(
      `Cannot run the NAT lab's command as it exited with code ${result.code}: ${command}: ${result.stderr.trim()}`,
    );
  }
  return result;
}

async function stopChild(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // already exited
  }
  await child.status;
  for (const name of ["stdout", "stderr"] as const) {
    try {
      // The getter itself throws when the stream was not piped.
      const stream = child[name];
      if (!stream.locked) await stream.cancel();
    } catch {
      // not piped
    }
  }
}

/** Kills whatever still runs in the namespaces, then deletes them. */
async function deleteNamespaces(namespaces: string[]): Promise<void> {
  const existing = new Set(
    (await exec("ip", ["netns", "list"])).stdout.split("\n").map((line) =>
      line.split(" ")[0]
    ),
  );
  const present = namespaces.filter((ns) => existing.has(ns));
  if (present.length === 0) return;
  await Promise.all(present.map(async (ns) => {
    const { stdout } = await exec("ip", ["netns", "pids", ns]).catch(() => ({
      stdout: "",
    }));
    for (const pid of stdout.split("\n").filter(Boolean).map(Number)) {
      // Only processes inside this lab's own namespaces, by id.
      if (pid !== Deno.pid) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  }));
  // -force goes on past a namespace another run's sweep deleted meanwhile.
  await exec("ip", ["-force", "-batch", "-"], {
    stdin: present.map((ns) => `netns del ${ns}`).join("\n"),
  }).catch(async (error) => {
    const left = await listLabNamespaces();
    if (present.some((ns) => left.includes(ns))) throw error;
  });
}

async function freshPrefix(): Promise<string> {
  const taken = new Set(
    (await listLabNamespaces()).map((ns) => ns.slice(0, 6)),
  );
  while (true) {
    const letters = "abcdefghijklmnopqrstuvwxyz0123456789";
    const random = crypto.getRandomValues(new Uint8Array(4));
    const prefix = "an" +
      [...random].map((byte) => letters[byte % letters.length]).join("");
    if (!taken.has(prefix)) return prefix;
  }
}

/** A process's start time in clock ticks since boot, or null if it is gone. */
async function processStartTime(pid: number): Promise<string | null> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // Fields after the command name, which may itself hold spaces and parens.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19]; // field 22 overall: starttime
  } catch {
    return null;
  }
}

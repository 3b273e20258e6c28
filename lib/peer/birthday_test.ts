import assert from "node:assert/strict";
import { NatMapping } from "../wire/mod.ts";
import {
  BIRTHDAY_BATCH_MS,
  BIRTHDAY_FIRST_PORT,
  birthdayRole,
  BirthdaySpray,
  birthdaySuccessOdds,
  checkBirthdayBudget,
  DEFAULT_BIRTHDAY_BUDGET,
} from "./birthday.ts";
import {
  BIRTHDAY_ANNOUNCE_MS,
  BIRTHDAY_SETTLE_MS,
  MAIN_SOCKET,
  OPENING_LEAD_MS,
  OPENING_TTL,
  type PathAction,
  PathManager,
  PUNCH_RETRY_MS,
} from "./path_manager.ts";

const EASY = { address: "198.51.100.1", port: 4000 };
const HARD = { address: "198.51.100.2", port: 5000 };

function seeded(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return BigInt(x) * 0x100000001n;
  };
}

function manager(birthday = true, lowTtl = true) {
  return new PathManager({
    randomId: seeded(42),
    lowTtl,
    birthday: birthday ? DEFAULT_BIRTHDAY_BUDGET : undefined,
  });
}

const natInfos = (actions: PathAction[]) =>
  actions.filter((a) => a.type === "nat-info");

Deno.test("256 sockets against 1024 probes meet 98 % of the time", () => {
  const odds = birthdaySuccessOdds(256, 1024);
  assert.ok(odds > 0.98 && odds < 0.99, `odds ${odds}`);
  assert.equal(birthdaySuccessOdds(0, 1024), 0);
  assert.equal(birthdaySuccessOdds(256, 0), 0);
  // Distinct probes can do no worse than independent ones.
  assert.ok(odds >= 1 - (1 - 256 / 64512) ** 1024);
});

Deno.test("only symmetric facing endpoint-independent takes roles", () => {
  const { ENDPOINT_DEPENDENT: EDM, ENDPOINT_INDEPENDENT: EIM } = NatMapping;
  assert.equal(birthdayRole(EDM, EIM), "hard");
  assert.equal(birthdayRole(EIM, EDM), "easy");
  assert.equal(birthdayRole(EDM, EDM), undefined);
  assert.equal(birthdayRole(EIM, EIM), undefined);
  assert.equal(birthdayRole(NatMapping.NONE, EDM), undefined);
  assert.equal(birthdayRole(NatMapping.UNKNOWN, EDM), undefined);
});

Deno.test("a budget out of range is refused with the field named", () => {
  checkBirthdayBudget(DEFAULT_BIRTHDAY_BUDGET);
  assert.throws(
    () => checkBirthdayBudget({ ...DEFAULT_BIRTHDAY_BUDGET, sockets: 5000 }),
    /sockets/,
  );
  assert.throws(
    () => checkBirthdayBudget({ ...DEFAULT_BIRTHDAY_BUDGET, roundMs: 10 }),
    /roundMs/,
  );
});

Deno.test("the spray sends distinct ports at the budget's rate", () => {
  const random = seeded(7);
  const spray = new BirthdaySpray(
    HARD.address,
    DEFAULT_BIRTHDAY_BUDGET,
    (n) => Number(random() % BigInt(n)),
    0,
  );
  const ports = new Set<number>();
  let now = 0;
  while (!spray.done) {
    assert.equal(spray.nextTimeout(), now);
    for (const to of spray.due(now)) {
      assert.equal(to.address, HARD.address);
      assert.ok(to.port >= BIRTHDAY_FIRST_PORT && to.port <= 65535);
      ports.add(to.port);
    }
    assert.deepEqual(spray.due(now), [], "one batch per interval");
    now += BIRTHDAY_BATCH_MS;
  }
  assert.equal(ports.size, DEFAULT_BIRTHDAY_BUDGET.probes);
  assert.equal(spray.sent, DEFAULT_BIRTHDAY_BUDGET.probes);
  const seconds = now / 1000;
  const rate = DEFAULT_BIRTHDAY_BUDGET.probes / seconds;
  assert.ok(Math.abs(rate - 500) < 30, `rate ${rate}/s`);
  assert.equal(spray.nextTimeout(), undefined);
});

Deno.test("a round starts with low-TTL opening probes, full ones follow", () => {
  const paths = manager(false);
  paths.addCandidates([EASY]);
  paths.startPunching(100);
  const opening = paths.poll(100);
  assert.equal(opening.length, 1);
  assert.equal(opening[0].ttl, OPENING_TTL);
  assert.equal(paths.nextTimeout(), 100 + OPENING_LEAD_MS);
  const full = paths.poll(100 + OPENING_LEAD_MS);
  assert.equal(full.length, 1);
  assert.equal(full[0].ttl, undefined);
  // Without TTL control there are no openers and no lead.
  const plain = manager(false, false);
  plain.addCandidates([EASY]);
  plain.startPunching(100);
  assert.equal(plain.poll(100)[0].ttl, undefined);
});

Deno.test("the hard side opens sockets, sends one low-TTL opener from each, announces, and gives up at the round's end", () => {
  const paths = manager();
  paths.setPeerPublic(EASY);
  paths.addCandidates([EASY]);
  paths.setLocalMapping(NatMapping.ENDPOINT_DEPENDENT);
  assert.equal(paths.nextTimeout(), 0, "our mapping is due to be told");
  paths.poll(0);
  const told = natInfos(paths.takeActions());
  assert.deepEqual(told, [{
    type: "nat-info",
    mapping: NatMapping.ENDPOINT_DEPENDENT,
    birthdaySockets: 0,
  }]);
  // No round before the peer's mapping is known.
  assert.equal(paths.takeActions().length, 0);
  paths.onPeerNatInfo(NatMapping.ENDPOINT_INDEPENDENT, 0, 10);
  paths.poll(10);
  const actions = paths.takeActions();
  assert.ok(
    actions.some((a) =>
      a.type === "open-sockets" && a.count === DEFAULT_BIRTHDAY_BUDGET.sockets
    ),
    JSON.stringify(actions),
  );
  const ids = Array.from({ length: 256 }, (_, i) => i + 1);
  paths.onBirthdaySockets(ids, 50);
  const openers = paths.poll(50);
  const fromSockets = openers.filter((p) => p.socket !== MAIN_SOCKET);
  assert.equal(fromSockets.length, 256);
  assert.ok(fromSockets.every((p) => p.ttl === OPENING_TTL));
  assert.ok(fromSockets.every((p) => p.to === EASY));
  assert.deepEqual(
    natInfos(paths.takeActions()).map((a) =>
      a.type === "nat-info" && a.birthdaySockets
    ),
    [256],
  );
  paths.poll(50 + BIRTHDAY_ANNOUNCE_MS);
  assert.equal(natInfos(paths.takeActions()).length, 1, "re-announced");
  // Nothing hit: the round ends, sockets close, retry much later.
  paths.poll(50 + DEFAULT_BIRTHDAY_BUDGET.roundMs);
  const end = paths.takeActions();
  assert.ok(
    end.some((a) => a.type === "close-sockets" && a.keep === undefined),
  );
  assert.ok(
    end.some((a) => a.type === "nat-info" && a.birthdaySockets === 0),
  );
  assert.equal(paths.birthdayReport().role, "hard");
  assert.equal(paths.birthdayReport().socketsOpened, 256);
  assert.equal(paths.birthdayReport().succeeded, false);
  const t = 50 + DEFAULT_BIRTHDAY_BUDGET.roundMs;
  paths.poll(t + PUNCH_RETRY_MS - 1);
  assert.ok(!paths.takeActions().some((a) => a.type === "open-sockets"));
  paths.poll(t + PUNCH_RETRY_MS);
  assert.ok(paths.takeActions().some((a) => a.type === "open-sockets"));
});

Deno.test("the hard side goes direct on the socket the spray found, and closes the rest once settled", () => {
  const paths = manager();
  paths.setPeerPublic(EASY);
  paths.setLocalMapping(NatMapping.ENDPOINT_DEPENDENT);
  paths.onPeerNatInfo(NatMapping.ENDPOINT_INDEPENDENT, 0, 0);
  paths.poll(0);
  paths.takeActions();
  paths.onBirthdaySockets([1, 2, 3], 10);
  paths.poll(10);
  paths.takeActions();
  // The easy side's probe arrives on socket 2; we probe back from it.
  paths.onDirectReceive(EASY, 500, 2);
  const back = paths.probeNow(EASY, 500, 2);
  assert.equal(back.socket, 2);
  paths.onProbeAck(back.probeId, EASY, 520, 3);
  assert.equal(paths.path.via, "relay", "an ack on another socket is no proof");
  paths.onProbeAck(back.probeId, EASY, 520, 2);
  assert.deepEqual(paths.path, {
    via: "direct",
    endpoint: EASY,
    rttMs: 20,
    socket: 2,
  });
  assert.ok(
    !paths.takeActions().some((a) => a.type === "close-sockets"),
    "sockets stay open while the round settles",
  );
  paths.poll(520 + BIRTHDAY_SETTLE_MS);
  const actions = paths.takeActions();
  assert.ok(actions.some((a) => a.type === "close-sockets" && a.keep === 2));
  assert.equal(paths.birthdayReport().succeeded, true);
  assert.match(paths.takeChanges()[0].reason, /birthday/);
});

Deno.test("when two probes hit, the hard side follows the socket the easy side settled on", () => {
  const paths = manager();
  paths.setPeerPublic(EASY);
  paths.setLocalMapping(NatMapping.ENDPOINT_DEPENDENT);
  paths.onPeerNatInfo(NatMapping.ENDPOINT_INDEPENDENT, 0, 0);
  paths.poll(0);
  paths.takeActions();
  paths.onBirthdaySockets([1, 2, 3], 10);
  paths.poll(10);
  paths.takeActions();
  // Our return probe from socket 3 won on our side...
  const back = paths.probeNow(EASY, 500, 3);
  paths.onProbeAck(back.probeId, EASY, 520, 3);
  assert.equal(paths.path.via === "direct" && paths.path.socket, 3);
  // ...but the easy side's traffic comes in on socket 1, which it chose.
  paths.onDirectReceive(EASY, 600, 1);
  assert.equal(paths.path.via === "direct" && paths.path.socket, 1);
  paths.poll(520 + BIRTHDAY_SETTLE_MS);
  const close = paths.takeActions().find((a) => a.type === "close-sockets");
  assert.deepEqual(close, { type: "close-sockets", keep: 1 });
  // Once settled, another socket is no longer followed.
  paths.onDirectReceive(EASY, 3_000, 2);
  assert.equal(paths.path.via === "direct" && paths.path.socket, 1);
});

Deno.test("the easy side sprays the hard side's address once per announced round", () => {
  const paths = manager();
  paths.setPeerPublic(HARD);
  paths.setLocalMapping(NatMapping.ENDPOINT_INDEPENDENT);
  paths.onPeerNatInfo(NatMapping.ENDPOINT_DEPENDENT, 0, 0);
  assert.ok(!paths.poll(0).some((p) => p.to.address === HARD.address));
  paths.onPeerNatInfo(NatMapping.ENDPOINT_DEPENDENT, 256, 100);
  paths.onPeerNatInfo(NatMapping.ENDPOINT_DEPENDENT, 256, 150); // a repeat
  let sent = 0;
  let lastAt = 0;
  for (let t = 100; t < 10_000; t += BIRTHDAY_BATCH_MS) {
    const probes = paths.poll(t).filter((p) => p.to.address === HARD.address);
    if (probes.length) lastAt = t;
    sent += probes.length;
  }
  assert.equal(sent, DEFAULT_BIRTHDAY_BUDGET.probes);
  assert.ok(lastAt - 100 <= 2_100, `spray took ${lastAt - 100} ms`);
  assert.equal(paths.birthdayReport().probesSent, sent);
  assert.equal(paths.birthdayReport().role, "easy");
});

Deno.test("the easy side's probe answered from a hard socket makes the path direct", () => {
  const paths = manager();
  paths.setPeerPublic(HARD);
  paths.setLocalMapping(NatMapping.ENDPOINT_INDEPENDENT);
  paths.onPeerNatInfo(NatMapping.ENDPOINT_DEPENDENT, 256, 0);
  const probes = paths.poll(0);
  const hit = probes[3];
  paths.onProbeAck(hit.probeId, hit.to, 30);
  assert.deepEqual(paths.path, { via: "direct", endpoint: hit.to, rttMs: 30 });
  assert.equal(paths.birthdayReport().succeeded, true);
  assert.deepEqual(
    paths.poll(BIRTHDAY_BATCH_MS).filter((p) =>
      p.to.address === HARD.address && p.to.port !== hit.to.port
    ),
    [],
    "the spray stops",
  );
});

Deno.test("no birthday without a budget, or without the peer's mapping", () => {
  const off = manager(false);
  off.setPeerPublic(EASY);
  off.setLocalMapping(NatMapping.ENDPOINT_DEPENDENT);
  off.onPeerNatInfo(NatMapping.ENDPOINT_INDEPENDENT, 0, 0);
  off.poll(0);
  assert.ok(!off.takeActions().some((a) => a.type === "open-sockets"));
  const unknown = manager();
  unknown.setPeerPublic(EASY);
  unknown.setLocalMapping(NatMapping.ENDPOINT_DEPENDENT);
  unknown.poll(0);
  assert.ok(!unknown.takeActions().some((a) => a.type === "open-sockets"));
});

Deno.test("a peer that keeps announcing rounds gets at most maxRounds sprays", () => {
  const paths = manager();
  paths.setPeerPublic(HARD);
  paths.setLocalMapping(NatMapping.ENDPOINT_INDEPENDENT);
  let sprayed = 0;
  for (let round = 0; round < 10; round++) {
    const t = round * 10_000;
    paths.onPeerNatInfo(NatMapping.ENDPOINT_DEPENDENT, 256, t);
    for (let dt = 0; dt < 5_000; dt += BIRTHDAY_BATCH_MS) {
      sprayed += paths.poll(t + dt).filter((p) =>
        p.to.address === HARD.address
      ).length;
    }
    paths.onPeerNatInfo(NatMapping.ENDPOINT_DEPENDENT, 0, t + 5_000);
  }
  assert.equal(
    sprayed,
    DEFAULT_BIRTHDAY_BUDGET.maxRounds * DEFAULT_BIRTHDAY_BUDGET.probes,
  );
});

import assert from "node:assert/strict";
import { seededRandom } from "../udp/mod.ts";
import {
  CHANGE_IP,
  CHANGE_PORT,
  decodeStun,
  encodeBindingRequest,
  readBindingResponse,
  StunType,
} from "../wire/mod.ts";
import { answerStun } from "./stun_responder.ts";

const FROM = { address: "198.51.100.7", port: 40000 };
const tid = () => crypto.getRandomValues(new Uint8Array(12));

Deno.test("a Binding Request gets the sender's reflexive address", () => {
  const reply = answerStun(encodeBindingRequest(tid()), FROM, {
    onAlternate: false,
    hasAlternate: false,
  });
  assert.ok(reply && !reply.fromAlternate);
  const decoded = decodeStun(reply.data);
  assert.ok(decoded.ok && decoded.value.type === StunType.BINDING_SUCCESS);
  assert.deepEqual(readBindingResponse(decoded.value).mapped, FROM);
});

Deno.test("change-port answers from the other port; change-IP is refused with 420", () => {
  const context = {
    onAlternate: false,
    hasAlternate: true,
    main: { address: "203.0.113.1", port: 3478 },
    alternate: { address: "203.0.113.1", port: 3479 },
  };
  const port = answerStun(
    encodeBindingRequest(tid(), { change: CHANGE_PORT, padTo: 96 }),
    FROM,
    context,
  );
  assert.ok(port?.fromAlternate);
  const decoded = decodeStun(port.data);
  assert.ok(decoded.ok);
  const response = readBindingResponse(decoded.value);
  assert.deepEqual(response.responseOrigin, context.alternate);
  assert.deepEqual(response.otherAddress, context.main);

  const ip = answerStun(
    encodeBindingRequest(tid(), { change: CHANGE_IP }),
    FROM,
    context,
  );
  assert.ok(ip);
  const error = decodeStun(ip.data);
  assert.ok(error.ok && error.value.type === StunType.BINDING_ERROR);

  const noAlternate = answerStun(
    encodeBindingRequest(tid(), { change: CHANGE_PORT }),
    FROM,
    { onAlternate: false, hasAlternate: false },
  );
  assert.ok(noAlternate && !noAlternate.fromAlternate);
  const refused = decodeStun(noAlternate.data);
  assert.ok(refused.ok && refused.value.type === StunType.BINDING_ERROR);
});

Deno.test("200,000 random and mutated STUN datagrams: no throw, never amplified", () => {
  const random = seededRandom(5780);
  const samples = [
    encodeBindingRequest(tid()),
    encodeBindingRequest(tid(), { change: CHANGE_PORT }),
    encodeBindingRequest(tid(), { padTo: 120 }),
  ];
  let answered = 0;
  for (let i = 0; i < 200_000; i++) {
    let data: Uint8Array;
    if (i % 2 === 0) {
      data = samples[i % samples.length].slice();
      const flips = 1 + Math.floor(random() * 3);
      for (let f = 0; f < flips; f++) {
        data[Math.floor(random() * data.length)] ^= 1 <<
          Math.floor(random() * 8);
      }
    } else {
      data = Uint8Array.from(
        { length: 20 + Math.floor(random() * 100) },
        () => Math.floor(random() * 256),
      );
      data[0] &= 0x01;
      const length = data.length - 20;
      data[2] = length >> 8;
      data[3] = length & 0xff;
    }
    const reply = answerStun(data, FROM, {
      onAlternate: false,
      hasAlternate: i % 3 === 0,
      main: { address: "203.0.113.1", port: 3478 },
      alternate: { address: "203.0.113.1", port: 3479 },
    });
    if (reply) {
      answered++;
      assert.ok(reply.data.length <= Math.max(data.length, 32), "amplified");
      decodeStun(reply.data);
    }
  }
  assert.ok(answered > 1000, `answered ${answered}`);
});

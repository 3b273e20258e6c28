import assert from "node:assert/strict";
import {
  type AckRange,
  encodeMessage,
  MessageKind,
  type StreamAckMessage,
  type StreamDataMessage,
} from "../wire/mod.ts";
import { seededRandom } from "./simulated_link_for_testing.ts";
import { Stream } from "./stream.ts";

Deno.test("random peer messages never break a stream's invariants", () => {
  const buffer = 65_536;
  for (let seed = 1; seed <= 20; seed++) {
    const random = seededRandom(seed);
    const int = (n: number) => Math.floor(random() * n);
    const stream = new Stream(5, { receiveBuffer: buffer });
    stream.write(new Uint8Array(200_000));
    let now = 0;
    for (let step = 0; step < 400; step++) {
      now += random() * 50;
      const sent = stream.sender.stats.bytesSent;
      let message: StreamDataMessage | StreamAckMessage;
      if (random() < 0.5) {
        const offset = random() < 0.7 ? int(2 * buffer) : int(2 ** 40);
        message = {
          kind: MessageKind.STREAM_DATA,
          streamId: 5,
          fin: random() < 0.1,
          offset,
          data: new Uint8Array(int(1190)),
        };
      } else {
        // A valid encoding whose values may or may not make sense.
        const cumulative = int(sent + 3000);
        const ranges: AckRange[] = [];
        let at = cumulative;
        for (let i = int(17); i > 0; i--) {
          const start = at + 1 + int(4000);
          const end = start + 1 + int(4000);
          ranges.push({ start, end });
          at = end;
        }
        message = {
          kind: MessageKind.STREAM_ACK,
          streamId: 5,
          cumulative,
          window: int(2 ** 32),
          ranges,
        };
      }
      stream.receive(message, now);
      for (let m = stream.pollTransmit(now); m; m = stream.pollTransmit(now)) {
        encodeMessage(m);
      }
      const t = stream.nextTimeout();
      if (t !== undefined && t <= now + 50) stream.onTimeout(now = t);
      while (stream.read());
      const stats = stream.stats;
      assert.ok(stats.bytesInFlight >= 0, `seed ${seed}`);
      assert.ok(stats.cwnd >= 1151, `seed ${seed}`);
      assert.ok(stream.receiver.bufferedBytes <= buffer, `seed ${seed}`);
      assert.ok(stream.acknowledged <= stream.sender.written);
    }
  }
});

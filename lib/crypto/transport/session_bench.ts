/**
 * Per-packet cost of the transport layer at a typical datagram size.
 * Run: `deno bench -A lib/crypto/transport/session_bench.ts`
 *
 * @module
 */

import type { Aead } from "./aead.ts";
import { nobleChaCha20Poly1305 } from "./aead_noble.ts";
import { nodeChaCha20Poly1305 } from "./aead_node.ts";
import { ReplayWindow } from "./replay_window.ts";
import { TransportSession } from "./session.ts";

const SIZE = 1200;
const plaintext = crypto.getRandomValues(new Uint8Array(SIZE));
const header = new Uint8Array(14); // the TRANSPORT header

/** An AEAD that does nothing, to see what the session costs on its own. */
const nullAead: Aead = {
  seal: (_key, _nonce, plaintext) => plaintext,
  open: (_key, _nonce, ciphertext) => ciphertext,
};

function pair(aead: Aead) {
  const k1 = crypto.getRandomValues(new Uint8Array(32));
  const k2 = crypto.getRandomValues(new Uint8Array(32));
  const common = { createdAt: 0, now: () => 0, aead };
  return {
    sender: new TransportSession({
      ...common,
      sendKey: k1,
      receiveKey: k2,
      isInitiator: true,
      localIndex: 1,
      remoteIndex: 2,
    }),
    receiver: new TransportSession({
      ...common,
      sendKey: k2.slice(),
      receiveKey: k1.slice(),
      isInitiator: false,
      localIndex: 2,
      remoteIndex: 1,
    }),
  };
}

for (
  const [name, aead] of [
    ["node:crypto", nodeChaCha20Poly1305],
    ["@noble/ciphers", nobleChaCha20Poly1305],
    ["no-op AEAD (session overhead)", nullAead],
  ] as const
) {
  const { sender, receiver } = pair(aead);
  Deno.bench(`seal+open ${SIZE} B, ${name}`, { group: "seal+open" }, () => {
    const { counter, ciphertext } = sender.seal(plaintext, header, 0);
    const result = receiver.open(counter, ciphertext, header, 0);
    if (!result.ok) throw new Error(`Open failed: ${result.reason}`);
  });
}

{
  const { sender } = pair(nodeChaCha20Poly1305);
  Deno.bench(`seal ${SIZE} B, node:crypto`, { group: "one way" }, () => {
    sender.seal(plaintext, header, 0);
  });
  const { sender: s2, receiver: r2 } = pair(nodeChaCha20Poly1305);
  // Pre-sealed packets, opened in a loop: the window accepts each once, so
  // cycle through enough of them and reset the receiver when they run out.
  const packets = Array.from(
    { length: 4096 },
    () => s2.seal(plaintext, header, 0),
  );
  let i = 0;
  let receiver = r2;
  Deno.bench(`open ${SIZE} B, node:crypto`, { group: "one way" }, () => {
    if (i === packets.length) {
      receiver = pair(nodeChaCha20Poly1305).receiver;
      i = 0;
    }
    const { counter, ciphertext } = packets[i++];
    receiver.open(counter, ciphertext, header, 0);
  });
}

{
  const window = new ReplayWindow();
  let counter = 0n;
  Deno.bench("replay window update, in order", { group: "window" }, () => {
    window.update(counter++);
  });
}

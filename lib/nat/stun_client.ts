/**
 * A small STUN Binding client (RFC 8489 §6.2.1 retransmissions) for our own
 * reflexive address and NAT behaviour tests.
 *
 * It does not own a socket: it sends through a callback and is handed the
 * STUN datagrams the socket's owner receives (`PeerNode` routes them here),
 * so it shares the port, and the NAT mapping, with everything else.
 *
 * @module
 */

import type { Scheduler, TimerHandle } from "../udp/mod.ts";
import {
  decodeStun,
  encodeBindingRequest,
  type Endpoint,
  readBindingResponse,
  StunType,
} from "../wire/mod.ts";

/** What one Binding exchange learned. */
export interface BindingResult {
  /** Our address as the server saw it. */
  mapped: Endpoint;
  /** Where the answer came from (differs with a change request). */
  answeredFrom: Endpoint;
  /** The server's other address (RFC 5780), when it announced one. */
  otherAddress?: Endpoint;
  /** Round trip of the answered attempt, in ms. */
  rttMs: number;
}

interface Transaction {
  id: Uint8Array;
  request: Uint8Array;
  server: Endpoint;
  sentAt: number;
  attemptsLeft: number;
  rto: number;
  timer?: TimerHandle;
  resolve: (result: BindingResult | undefined) => void;
}

/** Runs Binding transactions over someone else's socket. */
export class StunClient {
  readonly #send: (data: Uint8Array, to: Endpoint) => void;
  readonly #scheduler: Scheduler;
  readonly #transactions = new Map<string, Transaction>();

  constructor(
    send: (data: Uint8Array, to: Endpoint) => void,
    scheduler: Scheduler,
  ) {
    this.#send = send;
    this.#scheduler = scheduler;
  }

  /**
   * Asks `server` for our reflexive address; retransmits at 500 ms, 1 s,
   * 2 s (`attempts`, default 3). Resolves undefined when nothing answered.
   */
  binding(
    server: Endpoint,
    options: { change?: number; attempts?: number; padTo?: number } = {},
  ): Promise<BindingResult | undefined> {
    const id = crypto.getRandomValues(new Uint8Array(12));
    return new Promise((resolve) => {
      const transaction: Transaction = {
        id,
        request: encodeBindingRequest(id, {
          change: options.change,
          // Padded, so a relay may answer with its RFC 5780 attributes
          // without ever sending more than it received.
          padTo: options.padTo ?? 96,
        }),
        server,
        sentAt: 0,
        attemptsLeft: options.attempts ?? 3,
        rto: 500,
        resolve,
      };
      this.#transactions.set(id.toHex(), transaction);
      this.#transmit(transaction);
    });
  }

  /** Hands a received STUN datagram in; returns true when it was ours. */
  handle(data: Uint8Array, from: Endpoint): boolean {
    const decoded = decodeStun(data);
    if (!decoded.ok || decoded.value.type !== StunType.BINDING_SUCCESS) {
      return false;
    }
    const key = decoded.value.transactionId.toHex();
    const transaction = this.#transactions.get(key);
    if (!transaction) return false;
    const response = readBindingResponse(decoded.value);
    if (!response.mapped) return false;
    this.#transactions.delete(key);
    if (transaction.timer !== undefined) {
      this.#scheduler.clearTimer(transaction.timer);
    }
    transaction.resolve({
      mapped: response.mapped,
      answeredFrom: from,
      otherAddress: response.otherAddress,
      rttMs: this.#scheduler.now() - transaction.sentAt,
    });
    return true;
  }

  /** Gives up every pending transaction. */
  close(): void {
    for (const transaction of this.#transactions.values()) {
      if (transaction.timer !== undefined) {
        this.#scheduler.clearTimer(transaction.timer);
      }
      transaction.resolve(undefined);
    }
    this.#transactions.clear();
  }

  #transmit(transaction: Transaction) {
    if (transaction.attemptsLeft === 0) {
      this.#transactions.delete(transaction.id.toHex());
      transaction.resolve(undefined);
      return;
    }
    transaction.attemptsLeft--;
    transaction.sentAt = this.#scheduler.now();
    this.#send(transaction.request, transaction.server);
    transaction.timer = this.#scheduler.setTimer(
      transaction.sentAt + transaction.rto,
      () => this.#transmit(transaction),
    );
    transaction.rto *= 2;
  }
}

/**
 * Offers of files waiting for the person at a chat to answer `/accept` or
 * `/decline`: the decision callback of a chat on a terminal. Several offers
 * may wait; an answer without an id takes the oldest.
 *
 * @module
 */

import { type Decision, type OfferToDecide, Reason } from "../transfer/mod.ts";

interface Waiting {
  offer: OfferToDecide;
  resolve: (decision: Decision) => void;
}

/** Offers waiting for an answer, oldest first. */
export class OfferQueue {
  readonly #waiting: Waiting[] = [];
  readonly #declineText: string;

  /** `declineText` is what the sender is told when the answer is no. */
  constructor(declineText: string) {
    this.#declineText = declineText;
  }

  /** The offers waiting, oldest first. */
  get waiting(): OfferToDecide[] {
    return this.#waiting.map((w) => w.offer);
  }

  /**
   * Queues `offer`; resolves with the answer given to it, or with a decline
   * when its signal aborts (the sender gave up: nobody needs the answer).
   */
  ask(offer: OfferToDecide): Promise<Decision> {
    return new Promise((resolve) => {
      const entry: Waiting = { offer, resolve };
      this.#waiting.push(entry);
      offer.signal.addEventListener("abort", () => {
        this.#remove(entry);
        resolve(this.#decline());
      }, { once: true });
    });
  }

  /**
   * Answers the offer `id`, or the oldest one without an id; returns the
   * offer answered.
   *
   * @throws {RangeError} When no offer (or none of that id) waits.
   */
  answer(accept: boolean, id?: number): OfferToDecide {
    const entry = id === undefined
      ? this.#waiting[0]
      : this.#waiting.find((w) => w.offer.id === id);
    if (!entry) {
      throw new RangeError(
        id === undefined
          ? "No file offer waits for an answer"
          : `No file offer waits for an answer under this number: ${id}`,
      );
    }
    this.#remove(entry);
    entry.resolve(accept ? { accept: true } : this.#decline());
    return entry.offer;
  }

  #decline(): Decision {
    return { accept: false, reason: Reason.DECLINED, text: this.#declineText };
  }

  #remove(entry: Waiting) {
    const at = this.#waiting.indexOf(entry);
    if (at >= 0) this.#waiting.splice(at, 1);
  }
}

/**
 * The timers of a stream, each named after the protocol event that arms or
 * stops it. They hold deadlines only: the stream asks which have expired and
 * the driver sleeps until {@linkcode SendTimers.next} /
 * {@linkcode AckTimer.deadline}.
 *
 * - retransmission (RFC 6298 §5): runs while data is outstanding;
 * - loss detection (RFC 9002 §6.1.2): when a segment reaches the time
 *   threshold;
 * - pacing (RFC 9002 §7.7): when the pacer holds back the next segment;
 * - persist (RFC 9293 §3.8.6.1): probes a peer whose window is closed while
 *   nothing is outstanding, in case its window update was lost;
 * - delayed ACK (RFC 5681 §4.2): bounds how long an ACK may wait.
 *
 * @module
 */

/**
 * Tuning: the longest an ACK is delayed. RFC 5681 §4.2 allows up to 500 ms;
 * 25 ms is QUIC's default max_ack_delay (RFC 9000 §18.2), short enough that
 * the sender's RTT estimate barely notices.
 */
export const DELAYED_ACK_MS = 25;

/** The sender's timers: retransmission, loss detection, pacing and persist. */
export class SendTimers {
  #retransmission: number | undefined;
  #loss: number | undefined;
  #pacing: number | undefined;
  #persist: number | undefined;

  /** When the retransmission timer expires, if running. */
  get retransmission(): number | undefined {
    return this.#retransmission;
  }

  /** When a segment in flight reaches the time threshold, if one will. */
  get loss(): number | undefined {
    return this.#loss;
  }

  /** When the pacer lets the next segment go, if it holds one back. */
  get pacing(): number | undefined {
    return this.#pacing;
  }

  /** When to probe a closed window, if blocked. */
  get persist(): number | undefined {
    return this.#persist;
  }

  /**
   * Call after sending a segment that carries data or FIN: starts the
   * retransmission timer unless it runs (RFC 6298 §5.1). Also clears the
   * pacing timer, since a segment just went out.
   */
  onSegmentSent(now: number, rto: number): void {
    if (this.#retransmission === undefined) this.#retransmission = now + rto;
    this.#pacing = undefined;
  }

  /**
   * Call after an ACK acknowledged new data while some remains outstanding:
   * restarts the retransmission timer (RFC 6298 §5.3).
   */
  onNewDataAcknowledged(now: number, rto: number): void {
    this.#retransmission = now + rto;
  }

  /**
   * Call when nothing is outstanding anymore: stops the retransmission and
   * loss-detection timers (RFC 6298 §5.2).
   */
  onAllAcknowledged(): void {
    this.#retransmission = undefined;
    this.#loss = undefined;
  }

  /**
   * Call after the retransmission timer expired and the RTO was backed off:
   * restarts it with the new RTO (RFC 6298 §5.5–5.6).
   */
  onRetransmissionTimeout(now: number, rto: number): void {
    this.#retransmission = now + rto;
  }

  /**
   * Call after loss detection ran: `at` is when the oldest segment that a
   * later delivery overtook reaches the time threshold, or undefined.
   */
  onLossDetection(at: number | undefined): void {
    this.#loss = at;
  }

  /** Call when pacing holds back the next segment until `at`. */
  onPacingDelay(at: number): void {
    this.#pacing = at;
  }

  /** Call when the pacing deadline passed or nothing waits on it anymore. */
  onPacingCleared(): void {
    this.#pacing = undefined;
  }

  /**
   * Call when the peer's window blocks unsent data and nothing is
   * outstanding: arms the persist timer unless it runs.
   */
  onWindowBlocked(now: number, timeout: number): void {
    if (this.#persist === undefined) this.#persist = now + timeout;
  }

  /** Call when the peer's window opened, or after a probe went out. */
  onWindowOpened(): void {
    this.#persist = undefined;
  }

  /**
   * Call when the path changed: the retransmission timer, which runs exactly
   * while data is outstanding, restarts with the new path's RTO; the others
   * stop.
   */
  onPathChange(now: number, rto: number): void {
    if (this.#retransmission !== undefined) this.#retransmission = now + rto;
    this.#loss = undefined;
    this.#pacing = undefined;
    this.#persist = undefined;
  }

  /** The earliest deadline, or undefined when no timer runs. */
  next(): number | undefined {
    return earliest(
      this.#retransmission,
      this.#loss,
      this.#pacing,
      this.#persist,
    );
  }
}

/** The receiver's delayed-ACK timer. */
export class AckTimer {
  #deadline: number | undefined;

  /** When a delayed ACK must go out, if one is pending. */
  get deadline(): number | undefined {
    return this.#deadline;
  }

  /**
   * Call after receiving a segment that needs acknowledging but not at
   * once: arms the timer unless it runs, so the ACK for the first unacked
   * segment waits at most {@linkcode DELAYED_ACK_MS}.
   */
  onAckElicitingReceived(now: number): void {
    if (this.#deadline === undefined) this.#deadline = now + DELAYED_ACK_MS;
  }

  /** Call after sending an ACK: nothing is pending anymore. */
  onAckSent(): void {
    this.#deadline = undefined;
  }

  /** Whether the delayed ACK is due at `now`. */
  isDue(now: number): boolean {
    return this.#deadline !== undefined && this.#deadline <= now;
  }
}

/** The smallest defined deadline, or undefined. */
export function earliest(
  ...deadlines: (number | undefined)[]
): number | undefined {
  let min: number | undefined;
  for (const d of deadlines) {
    if (d !== undefined && (min === undefined || d < min)) min = d;
  }
  return min;
}

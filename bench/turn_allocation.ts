/**
 * One TURN allocation on a UDP socket, for the relay benchmark: Allocate with
 * long-term credentials (RFC 8656 §7), CreatePermission (§9), ChannelBind
 * (§12) and release (Refresh with lifetime 0, §8). Requests are retransmitted
 * (RFC 8489 §6.2.1, shortened for loopback) and a 401 or 438 answer is
 * retried once with the realm and nonce it carries.
 *
 * The socket's owner reads it and hands STUN messages to
 * {@linkcode TurnAllocation.onStun}; ChannelData frames are the owner's.
 *
 * @module
 */

import {
  channelNumberValue,
  decodeXorAddress,
  encodeStun,
  encodeXorAddress,
  errorCode,
  errorReason,
  type LongTermCredentials,
  longTermKey,
  newTransactionId,
  StunAttribute,
  type StunAttributeValue,
  StunClass,
  type StunMessage,
  textAttribute,
  type TurnAddress,
  TurnMethod,
  uint32Value,
} from "./turn_codec.ts";

/** RFC 8656 §14.7: REQUESTED-TRANSPORT carries protocol 17 (UDP). */
const UDP_TRANSPORT = uint32Value(17 << 24);
/** Loopback answers in well under a millisecond; 250 ms is generous. */
const RETRANSMIT_MS = 250;
const ATTEMPTS = 8;

/** A TURN error response, with its code (RFC 8656 §19, RFC 8489 §14.8). */
export class TurnError extends Error {
  /** E.g. 437 (Allocation Mismatch). */
  readonly code: number | undefined;

  constructor(message: string, code: number | undefined) {
    super(message);
    this.name = "TurnError";
    this.code = code;
  }
}

/**
 * RFC 8656 §7.2: 437 (Allocation Mismatch) means the server still holds an
 * allocation for this client address and port, e.g. one a closed socket
 * left behind whose port the kernel handed out again; the remedy is another
 * client port.
 */
export const ALLOCATION_MISMATCH = 437;

/** The account a TURN server was started with. */
export interface TurnAccount {
  username: string;
  password: string;
}

/** A TURN allocation on `socket`, driven request by request. */
export class TurnAllocation {
  readonly #socket: Deno.DatagramConn;
  readonly #server: Deno.NetAddr;
  readonly #account: TurnAccount;
  readonly #pending = new Map<string, (message: StunMessage) => void>();
  #credentials: LongTermCredentials | undefined;
  /** The relayed transport address, once allocated. */
  relayed: TurnAddress | undefined;

  constructor(
    socket: Deno.DatagramConn,
    server: TurnAddress,
    account: TurnAccount,
  ) {
    this.#socket = socket;
    this.#server = {
      transport: "udp",
      hostname: server.address,
      port: server.port,
    };
    this.#account = account;
  }

  /** Hands a STUN message read from the socket to its transaction. */
  onStun(message: StunMessage): void {
    const key = message.transactionId.toHex();
    const resolve = this.#pending.get(key);
    if (resolve) {
      this.#pending.delete(key);
      resolve(message);
    }
  }

  /** Allocates a UDP relayed address; returns it. */
  async allocate(): Promise<TurnAddress> {
    const response = await this.#request(TurnMethod.ALLOCATE, [
      { type: StunAttribute.REQUESTED_TRANSPORT, value: UDP_TRANSPORT },
    ]);
    const relayed = decodeXorAddress(
      response.attributes.get(StunAttribute.XOR_RELAYED_ADDRESS),
    );
    if (!relayed) {
      throw new TypeError("TURN Allocate succeeded without a relayed address");
    }
    this.relayed = relayed;
    return relayed;
  }

  /** Lets `peer`'s IP address send to our relayed address. */
  async createPermission(peer: TurnAddress): Promise<void> {
    await this.#request(TurnMethod.CREATE_PERMISSION, [
      { type: StunAttribute.XOR_PEER_ADDRESS, value: encodeXorAddress(peer) },
    ]);
  }

  /** Binds `channel` to `peer` (this also installs a permission). */
  async channelBind(channel: number, peer: TurnAddress): Promise<void> {
    await this.#request(TurnMethod.CHANNEL_BIND, [
      {
        type: StunAttribute.CHANNEL_NUMBER,
        value: channelNumberValue(channel),
      },
      { type: StunAttribute.XOR_PEER_ADDRESS, value: encodeXorAddress(peer) },
    ]);
  }

  /** Releases the allocation (Refresh with LIFETIME 0); best effort. */
  async release(): Promise<void> {
    if (!this.relayed) return;
    this.relayed = undefined;
    try {
      await this.#request(TurnMethod.REFRESH, [
        { type: StunAttribute.LIFETIME, value: uint32Value(0) },
      ]);
    } catch {
      // The server frees it after its lifetime anyway.
    }
  }

  async #request(
    method: number,
    attributes: StunAttributeValue[],
  ): Promise<StunMessage> {
    for (let authRetry = 0; authRetry < 3; authRetry++) {
      const response = await this.#transaction(method, attributes);
      if (response.type === (method | StunClass.SUCCESS)) return response;
      const code = errorCode(response);
      const realm = textAttribute(response, StunAttribute.REALM);
      const nonce = textAttribute(response, StunAttribute.NONCE);
      // RFC 8489 §9.2.4: 401 (no or wrong credentials) and 438 (stale
      // nonce) carry the realm and nonce to retry with.
      if ((code === 401 || code === 438) && nonce) {
        const chosenRealm = realm ?? this.#credentials?.realm ?? "";
        this.#credentials = {
          username: this.#account.username,
          realm: chosenRealm,
          nonce,
          key: this.#credentials?.realm === chosenRealm
            ? this.#credentials.key
            : longTermKey(
              this.#account.username,
              chosenRealm,
              this.#account.password,
            ),
        };
        continue;
      }
      throw new TurnError(
        `TURN request 0x${method.toString(16)} failed: error ${code ?? "?"} ${
          errorReason(response)
        }`.trim(),
        code,
      );
    }
    throw new Error(
      `TURN request 0x${method.toString(16)} kept failing authentication`,
    );
  }

  async #transaction(
    method: number,
    attributes: StunAttributeValue[],
  ): Promise<StunMessage> {
    const transactionId = newTransactionId();
    const key = transactionId.toHex();
    const bytes = encodeStun(
      { type: method | StunClass.REQUEST, transactionId, attributes },
      this.#credentials,
    );
    const answered = new Promise<StunMessage>((resolve) =>
      this.#pending.set(key, resolve)
    );
    try {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        await this.#socket.send(bytes, this.#server);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), RETRANSMIT_MS);
        });
        const response = await Promise.race([answered, timeout]);
        clearTimeout(timer);
        if (response) return response;
      }
    } finally {
      this.#pending.delete(key);
    }
    throw new Error(
      `TURN server ${this.#server.hostname}:${this.#server.port} did not answer request 0x${
        method.toString(16)
      }`,
    );
  }
}

/**
 * The relay's side of the directory messages: build and sign a descriptor,
 * a heartbeat or a deregistration for one directory.
 *
 * @module
 */

import type { Identity } from "../identity/mod.ts";
import { VERSION } from "../version.ts";
import {
  type Capability,
  FORMAT_VERSION,
  MessageType,
  parseDeregistration,
  parseDescriptor,
  parseHeartbeat,
  type RelayAddress,
  type RelayDeregistration,
  type RelayDescriptor,
  type RelayHeartbeat,
  type RelayLoad,
} from "./descriptor.ts";
import { createEd25519Signer, type Ed25519Signer } from "./ed25519.ts";
import { computeNoiseProof } from "./noise_proof.ts";
import { signObject } from "./signed_object.ts";

/** What a relay announces about itself. */
export interface RelayAnnouncement {
  /** 1–32 of `a-z 0-9 . _ -`, unique in the directory. */
  name: string;
  /** Where peers reach the relay over UDP (canonical IP text or DNS name). */
  addresses: RelayAddress[];
  /** Default `["relay"]`. */
  capabilities?: Capability[];
  /** Declared bandwidth in bytes per second; default 0 (not declared). */
  bandwidth?: number;
  /** How to reach the operator; default empty. */
  contact?: string;
  /** Default `altnet/<version>`. */
  software?: string;
}

/** A relay's load figures, as the relay counts them. */
export interface LoadFigures {
  peers: number;
  circuits: number;
  bytesRelayed: number;
  uptimeSeconds: number;
}

/** The two public keys of a directory. */
export interface DirectoryKeys {
  /** Ed25519: signs the relay list; relays address messages to it. */
  signingKey: Uint8Array;
  /** X25519: the relay's proof of its Noise key is made for it. */
  noiseKey: Uint8Array;
}

/** Load figures in wire form; non-integers are rounded down. */
export function wireLoad(load: LoadFigures): RelayLoad {
  const whole = (n: number) => Math.max(0, Math.floor(n));
  return {
    peers: whole(load.peers),
    circuits: whole(load.circuits),
    bytes_relayed: whole(load.bytesRelayed),
    uptime_s: whole(load.uptimeSeconds),
  };
}

const signers = new WeakMap<Identity, Ed25519Signer>();

function signerOf(identity: Identity): Ed25519Signer {
  let signer = signers.get(identity);
  if (!signer) {
    signer = createEd25519Signer(identity.signingPrivateKey);
    signers.set(identity, signer);
  }
  return signer;
}

function checkedOrThrow<T>(
  result: { ok: true; value: T } | { ok: false; error: string },
): T {
  if (!result.ok) {
    throw new TypeError(`Cannot build the message: ${result.error}`);
  }
  return result.value;
}

/**
 * A signed descriptor of `identity` for the directory `options.directory`.
 *
 * @throws {TypeError} when the announcement is invalid (the reason says which
 * field), exactly as the directory would refuse it
 *
 * @example
 * ```ts ignore
 * const descriptor = createDescriptor(identity, {
 *   name: "relay-1",
 *   addresses: [{ host: "203.0.113.5", port: 8000 }],
 * }, { directory, load, timestamp: Date.now() });
 * ```
 */
export function createDescriptor(
  identity: Identity,
  announcement: RelayAnnouncement,
  options: { directory: DirectoryKeys; load: LoadFigures; timestamp: number },
): RelayDescriptor {
  const unsigned = {
    type: MessageType.DESCRIPTOR,
    version: FORMAT_VERSION,
    directory_key: options.directory.signingKey.toBase64(),
    noise_key: identity.noisePublicKey.toBase64(),
    signing_key: identity.signingPublicKey.toBase64(),
    name: announcement.name,
    addresses: announcement.addresses.map((a) => ({
      host: a.host,
      port: a.port,
    })),
    software: announcement.software ?? `altnet/${VERSION}`,
    capabilities: announcement.capabilities ?? ["relay"],
    bandwidth: announcement.bandwidth ?? 0,
    contact: announcement.contact ?? "",
    timestamp: options.timestamp,
    load: wireLoad(options.load),
    noise_proof: "",
  };
  unsigned.noise_proof = computeNoiseProof(unsigned, {
    relayNoisePrivateKey: identity.noisePrivateKey,
    directoryNoiseKey: options.directory.noiseKey,
  }).toBase64();
  return checkedOrThrow(
    parseDescriptor(signObject(unsigned, signerOf(identity))),
  );
}

/** A signed heartbeat carrying `load`. */
export function createHeartbeat(
  identity: Identity,
  load: LoadFigures,
  options: { directory: DirectoryKeys; timestamp: number },
): RelayHeartbeat {
  return checkedOrThrow(parseHeartbeat(signObject({
    type: MessageType.HEARTBEAT,
    version: FORMAT_VERSION,
    directory_key: options.directory.signingKey.toBase64(),
    noise_key: identity.noisePublicKey.toBase64(),
    timestamp: options.timestamp,
    load: wireLoad(load),
  }, signerOf(identity))));
}

/** A signed deregistration. */
export function createDeregistration(
  identity: Identity,
  options: { directory: DirectoryKeys; timestamp: number },
): RelayDeregistration {
  return checkedOrThrow(parseDeregistration(signObject({
    type: MessageType.DEREGISTRATION,
    version: FORMAT_VERSION,
    directory_key: options.directory.signingKey.toBase64(),
    noise_key: identity.noisePublicKey.toBase64(),
    timestamp: options.timestamp,
  }, signerOf(identity))));
}

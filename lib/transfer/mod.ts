/**
 * File transfer over altnet's reliable streams (docs/TRANSFER.md): one
 * stream per transfer carrying `OFFER` / `ACCEPT` / `DATA` / `DONE` frames,
 * SHA-256 over every chunk and the whole file, resumable partial downloads,
 * and the apps behind `altnet send` and `altnet receive`.
 *
 * - {@linkcode SendApp} and {@linkcode ReceiveApp}: the commands without
 *   their terminal (socket, clock and decisions injected).
 * - {@linkcode OutgoingFile} and {@linkcode IncomingTransfers}: the two
 *   halves apart from the network (offers checked and decided, progress,
 *   timeouts), which `altnet chat` runs over its own session too.
 * - {@linkcode OutgoingTransfer} and {@linkcode IncomingTransfer}: one
 *   transfer on one stream, driven by `pump()`.
 * - {@linkcode hashFile}, {@linkcode openPartFile}: the disk on each side.
 * - frames and their codecs; {@linkcode checkFileName}.
 *
 * @module
 */

export * from "./constants.ts";
export * from "./frames.ts";
export * from "./file_name.ts";
export * from "./chunk_set.ts";
export * from "./source_file.ts";
export * from "./part_file.ts";
export * from "./outgoing.ts";
export * from "./incoming.ts";
export * from "./incoming_transfers.ts";
export * from "./outgoing_file.ts";
export * from "./progress.ts";
export * from "./stream_ids.ts";
export * from "./transfer_node.ts";
export * from "./send_app.ts";
export * from "./receive_app.ts";
export * from "./relay_only_socket.ts";

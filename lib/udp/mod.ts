/**
 * UDP: the datagram socket interface and its drivers.
 *
 * @module
 */

export * from "./datagram_socket.ts";

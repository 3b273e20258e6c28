/**
 * UDP: the datagram socket interface and its drivers.
 *
 * @module
 */

export * from "./datagram_socket.ts";
export * from "./node_udp_socket.ts";
export * from "./scheduler.ts";
export * from "./memory_network.ts";
export * from "./nat_behaviour.ts";
export * from "./seeded_random.ts";

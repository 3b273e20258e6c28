/** altnet's version, shown by `altnet --version` and sent in descriptors. */
export const VERSION = "0.1.0";

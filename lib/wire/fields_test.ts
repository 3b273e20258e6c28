import assert from "node:assert/strict";
import { Reader, Writer } from "./cursor.ts";
import {
  checkCandidates,
  nameBytes,
  readCandidates,
  readName,
  readText,
  textBytes,
  writeCandidates,
} from "./fields.ts";

function read<T>(reader: (r: Reader) => { ok: boolean }, ...bytes: number[]) {
  const result = reader(new Reader(Uint8Array.from(bytes)));
  return result as { ok: true; value: T } | {
    ok: false;
    error: { code: string };
  };
}

Deno.test("readName accepts the name charset and nothing else", () => {
  assert.deepEqual(read(readName, 3, 0x61, 0x2e, 0x39), {
    ok: true,
    value: "a.9",
  });
  for (let byte = 0; byte < 256; byte++) {
    const allowed = /^[a-z0-9._-]$/.test(String.fromCharCode(byte));
    const first = /^[a-z0-9]$/.test(String.fromCharCode(byte));
    assert.equal(read(readName, 2, 0x61, byte).ok, allowed, `byte ${byte}`);
    assert.equal(read(readName, 2, byte, 0x61).ok, first, `first byte ${byte}`);
  }
  assert.equal(nameBytes("name", "a-b_c.d").length, 7);
});

Deno.test("readText decodes UTF-8 losslessly, byte-order mark included", () => {
  const bom = read<string>(readText, 4, 0xef, 0xbb, 0xbf, 0x41);
  assert.deepEqual(bom, { ok: true, value: "\uFEFFA" });
  assert.deepEqual([...textBytes("text", "\uFEFFA")], [0xef, 0xbb, 0xbf, 0x41]);
  assert.deepEqual(read(readText, 0), { ok: true, value: "" });
});

Deno.test("candidate lists write and read back", () => {
  const candidates = [
    { address: "10.0.0.1", port: 1 },
    { address: "fe80::1", port: 2 },
  ];
  const checked = checkCandidates("candidates", candidates, 8);
  assert.equal(checked.size, 1 + 7 + 19);
  const w = new Writer(checked.size);
  writeCandidates(w, checked);
  const back = readCandidates(new Reader(w.finish()), 8);
  assert.deepEqual(back, { ok: true, value: candidates });
  assert.throws(() => checkCandidates("candidates", candidates, 1), RangeError);
});

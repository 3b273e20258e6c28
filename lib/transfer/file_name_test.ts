import assert from "node:assert/strict";
import { checkFileName, numberedName } from "./file_name.ts";

Deno.test("ordinary names are accepted", () => {
  for (
    const name of [
      "report.pdf",
      "photo 2024-05-01.jpg",
      ".bashrc",
      "..hidden",
      "résumé.txt",
      "写真.png",
      "a".repeat(200),
      "CONSOLE.txt",
      "com10",
    ]
  ) {
    assert.equal(checkFileName(name), undefined, name);
  }
});

Deno.test("names that could leave the output folder or deceive are refused", () => {
  const cases: [string, RegExp][] = [
    ["", /empty/],
    ["../etc/passwd", /path separator/],
    ["/etc/passwd", /path separator/],
    ["..\\windows\\system32", /path separator/],
    ["sub/dir.txt", /path separator/],
    [".", /folder/],
    ["..", /folder/],
    ["bad\u0000name", /control/],
    ["line\nbreak", /control/],
    ["bell\u0007", /control/],
    ["c1\u0085", /control/],
    ["invoice\u202etxt.exe", /reordering/],
    ["zero\u200bwidth", /invisible/],
    [" lead", /white space/],
    ["trail ", /white space/],
    ["dot.", /ends with a dot/],
    ["CON", /device name/],
    ["nul.txt", /device name/],
    ["Lpt1.tar.gz", /device name/],
    ["aux ", /white space/],
    ["a:b", /other systems refuse/],
    ["what?", /other systems refuse/],
    ["x".repeat(201), /longer than 200 bytes/],
    ["é".repeat(101), /longer than 200 bytes \(202\)/],
  ];
  for (const [name, reason] of cases) {
    const verdict = checkFileName(name);
    assert.ok(verdict, JSON.stringify(name));
    assert.match(verdict, reason, JSON.stringify(name));
  }
});

Deno.test("numbered names keep the whole extension", () => {
  assert.equal(numberedName("photo.jpg", 0), "photo.jpg");
  assert.equal(numberedName("photo.jpg", 1), "photo (1).jpg");
  assert.equal(numberedName("archive.tar.gz", 2), "archive (2).tar.gz");
  assert.equal(numberedName("notes", 3), "notes (3)");
  assert.equal(numberedName(".bashrc", 1), ".bashrc (1)");
});

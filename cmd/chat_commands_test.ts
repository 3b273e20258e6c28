import assert from "node:assert/strict";
import { parseChatLine } from "./chat_commands.ts";

const typed = { commands: true, home: "/home/ann" };
const piped = { commands: false, home: "/home/ann" };

Deno.test("/send is a command whether a person or a program types", () => {
  for (const options of [typed, piped]) {
    assert.deepEqual(parseChatLine("/send report.pdf", options), {
      kind: "send",
      path: "report.pdf",
    });
    assert.deepEqual(parseChatLine("/send   my file.txt  ", options), {
      kind: "send",
      path: "my file.txt",
    });
    assert.deepEqual(parseChatLine('/send "a b.txt"', options), {
      kind: "send",
      path: "a b.txt",
    });
    assert.deepEqual(parseChatLine("/send ~/in/x", options), {
      kind: "send",
      path: "/home/ann/in/x",
    });
    assert.deepEqual(parseChatLine("/send", options), {
      kind: "mistake",
      message: "Cannot send a file without its path: type /send PATH",
    });
    assert.equal(parseChatLine("/send ''", options).kind, "mistake");
  }
});

Deno.test("other commands only where a person types; elsewhere they are messages", () => {
  assert.deepEqual(parseChatLine("/accept", typed), { kind: "accept" });
  assert.deepEqual(parseChatLine("/decline 12", typed), {
    kind: "decline",
    id: 12,
  });
  assert.deepEqual(parseChatLine("/accept #3", typed), {
    kind: "accept",
    id: 3,
  });
  assert.equal(parseChatLine("/accept three", typed).kind, "mistake");
  assert.deepEqual(parseChatLine("/quit", typed), { kind: "quit" });
  assert.deepEqual(parseChatLine("/frobnicate", typed), {
    kind: "mistake",
    message: "Unknown command: /frobnicate (try /help)",
  });
  for (const line of ["/accept", "/quit", "/frobnicate", "/sendx y"]) {
    assert.deepEqual(parseChatLine(line, piped), {
      kind: "message",
      text: line,
    });
  }
});

Deno.test("a line starting with // is a message starting with /", () => {
  for (const options of [typed, piped]) {
    assert.deepEqual(parseChatLine("//send me the file", options), {
      kind: "message",
      text: "/send me the file",
    });
  }
  assert.deepEqual(parseChatLine("hello /send x", typed), {
    kind: "message",
    text: "hello /send x",
  });
});

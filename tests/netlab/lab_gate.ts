/**
 * Whether the NAT lab can run here, decided once when a lab test file loads:
 * it needs Linux, root, iproute2 and iptables. Without them the lab tests are
 * skipped with a visible message, unless `ALTNET_REQUIRE_NETLAB=1` (which
 * `.ci/run` sets), in which case they run and fail with what to install.
 *
 * @module
 */

/** Why the lab cannot run here, or undefined when it can. */
export function labUnavailableReason(): string | undefined {
  if (Deno.build.os !== "linux") {
    return `it needs Linux, this is ${Deno.build.os}`;
  }
  if (Deno.uid() !== 0) {
    return `it needs root for network namespaces (uid ${Deno.uid()})`;
  }
  for (const binary of ["ip", "iptables"]) {
    const found = new Deno.Command("sh", {
      args: ["-c", `command -v ${binary}`],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    if (!found.success) {
      return `${binary} is missing (apt-get install -y iproute2 iptables)`;
    }
  }
  return undefined;
}

const reason = Deno.env.get("ALTNET_REQUIRE_NETLAB") === "1"
  ? undefined
  : labUnavailableReason();
let said = false;

/** `Deno.test`, skipped with one visible line when the lab cannot run. */
export function labTest(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
): void {
  if (reason && !said) {
    said = true;
    console.warn(`NAT lab tests skipped: ${reason}`);
  }
  Deno.test({ name, ignore: reason !== undefined, fn });
}

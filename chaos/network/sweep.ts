// `npx tsx chaos/network/sweep.ts [--check]`, as root: removes what network faults of dead processes
// left (nftables tables, iptables queue rules, queue readers, tag locks) and lists what is still there.
// With --check it exits 1 while anything of ours remains, network namespaces, loop devices and qdiscs
// on lo included: the check to run before a machine is handed back.
import { describeLeftovers, findLeftovers, sweepLeftovers } from "./leftovers";
import { unavailableReason } from "./system";

async function main(): Promise<number> {
  const check = process.argv.includes("--check");
  const reason = unavailableReason();
  if (reason !== undefined) {
    console.error(reason);
    return 2;
  }
  const removed = await sweepLeftovers();
  if (removed.length > 0) console.log(`removed:\n${describeLeftovers(removed)}`);
  const remaining = findLeftovers();
  if (remaining.length === 0) {
    console.log("nothing of ours is left");
    return 0;
  }
  console.log(
    `still there (live owners, or made by something that is not swept):\n${describeLeftovers(remaining)}`,
  );
  return check ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

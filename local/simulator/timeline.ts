// The membership timeline: what happened to the group's instances and to etcd's member list, in
// order, with the time since the simulator started. The simulator samples both every half second
// and records each change; scenario steps and injected faults are noted in between.

export interface TimelineEntry {
  readonly atMs: number;
  readonly kind: "step" | "fault" | "instance" | "member" | "control-plane";
  readonly text: string;
}

/** A lifecycle event's delivery to one function, as the timeline shows it: "<kind> <instance> to
 * <function>: <outcome> <detail>" (kind "launch" or "terminate"). */
export function deliveryText(kind: string, instanceId: string, fn: string, outcome: string): string {
  return `${kind} ${instanceId} to ${fn}: ${outcome}`;
}

/** Whether `entry` is the delivery of a `kind` lifecycle event to function `fn`. */
export function isDeliveryTo(entry: TimelineEntry, kind: string, fn: string): boolean {
  return (
    entry.kind === "control-plane" && entry.text.startsWith(`${kind} `) && entry.text.includes(` to ${fn}: `)
  );
}

export interface MemberSample {
  readonly name: string;
  readonly id: string;
  readonly isLearner: boolean;
}

export class Timeline {
  readonly entries: TimelineEntry[] = [];
  /** The wall clock (epoch ms) at which atMs is 0. */
  readonly startedAt = Date.now();
  private instanceStates = new Map<string, string>();
  private memberStates = new Map<string, string>();

  constructor(private readonly onEntry: (entry: TimelineEntry) => void = () => {}) {}

  add(kind: TimelineEntry["kind"], text: string): void {
    const entry = { atMs: Date.now() - this.startedAt, kind, text };
    this.entries.push(entry);
    this.onEntry(entry);
  }

  /** Records the instances whose lifecycle state changed since the last sample, with the launch
   * template version each was launched from (a roll shows old and new versions side by side). */
  sampleInstances(
    instances: ReadonlyArray<{
      id: string;
      privateIp: string;
      lifecycleState: string;
      launchTemplate: { readonly version: string } | undefined;
    }>,
  ): void {
    const now = new Map(instances.map((i) => [i.id, i.lifecycleState]));
    for (const instance of instances) {
      if (this.instanceStates.get(instance.id) !== instance.lifecycleState) {
        const version = instance.launchTemplate === undefined ? "" : ` v${instance.launchTemplate.version}`;
        this.add("instance", `${instance.id} (${instance.privateIp}${version}) ${instance.lifecycleState}`);
      }
    }
    for (const id of this.instanceStates.keys()) {
      if (!now.has(id)) this.add("instance", `${id} Terminated`);
    }
    this.instanceStates = now;
  }

  /** Records members added, promoted, started or removed since the last sample. */
  sampleMembers(members: readonly MemberSample[]): void {
    const now = new Map(members.map((m) => [m.id, describe(m)]));
    for (const member of members) {
      const before = this.memberStates.get(member.id);
      if (before === undefined) this.add("member", `member ${describe(member)} added`);
      else if (before !== describe(member)) this.add("member", `member ${before} is now ${describe(member)}`);
    }
    for (const [id, before] of this.memberStates) {
      if (!now.has(id)) this.add("member", `member ${before} removed`);
    }
    this.memberStates = now;
  }

  /** Lines for printing (`  12.3s  member  ...`), of the given kinds (default all). */
  render(kinds?: ReadonlyArray<TimelineEntry["kind"]>): string[] {
    return this.entries
      .filter((e) => kinds === undefined || kinds.includes(e.kind))
      .map((e) => `${(e.atMs / 1000).toFixed(1).padStart(7)}s  ${e.kind.padEnd(13)} ${e.text}`);
  }
}

function describe(member: MemberSample): string {
  return `${member.name || `(unstarted ${member.id})`}${member.isLearner ? " [learner]" : ""}`;
}

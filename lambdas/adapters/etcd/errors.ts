// The etcd adapter's errors. `translate.ts` is the one place where etcd3 and gRPC errors become them.
import { EtcdAsgError, type EtcdAsgErrorOptions } from "../../errors";

/** Base of every error the etcd adapter throws. */
export class EtcdAdapterError extends EtcdAsgError {
  override readonly name: string = "EtcdAdapterError";
}

/**
 * The endpoint could not be reached or did not answer in time, has no leader, or the request timed out
 * inside etcd. A membership change that failed this way may still have been applied: re-read the list.
 */
export class EtcdUnavailableError extends EtcdAdapterError {
  override readonly name: string = "EtcdUnavailableError";
  constructor(message: string, options: Omit<EtcdAsgErrorOptions, "retryable"> = {}) {
    super(message, { ...options, retryable: true });
  }
}

/**
 * No member that answered knows a leader (an election is under way, or quorum is lost). Thrown
 * before a change is sent, so nothing was applied: looking again shortly is safe.
 */
export class NoLeaderError extends EtcdUnavailableError {
  override readonly name = "NoLeaderError";
}

/**
 * etcd refused a MemberAdd (or the removal of a live voter) because not every voter has been connected
 * to the member that checked for the last 5 s. Clears once the voters are back and connected.
 */
export class UnhealthyClusterError extends EtcdAdapterError {
  override readonly name = "UnhealthyClusterError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: true });
  }
}

/** The change would leave fewer started voters than the quorum needs (strict reconfig check). */
export class NotEnoughStartedMembersError extends EtcdAdapterError {
  override readonly name = "NotEnoughStartedMembersError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: false });
  }
}

/** etcd 3.4 allows one learner at a time: the existing one must be promoted or removed first. */
export class TooManyLearnersError extends EtcdAdapterError {
  override readonly name = "TooManyLearnersError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: false });
  }
}

/** The learner has not caught up with the leader yet (under 90% of its log); it usually will. */
export class LearnerNotReadyError extends EtcdAdapterError {
  override readonly name = "LearnerNotReadyError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: true });
  }
}

export class MemberNotFoundError extends EtcdAdapterError {
  override readonly name = "MemberNotFoundError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: false });
  }
}

/** A promotion of a member that is already a voter. */
export class MemberNotLearnerError extends EtcdAdapterError {
  override readonly name = "MemberNotLearnerError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: false });
  }
}

/** MemberAdd found a member with the same peer URL (or the same derived member ID). */
export class MemberAlreadyExistsError extends EtcdAdapterError {
  override readonly name = "MemberAlreadyExistsError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: false });
  }
}

/** A compaction to a revision at or below the one already compacted: the history is already gone. */
export class RevisionCompactedError extends EtcdAdapterError {
  override readonly name = "RevisionCompactedError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: false });
  }
}

/** A compaction (or read) at a revision the store has not reached. */
export class FutureRevisionError extends EtcdAdapterError {
  override readonly name = "FutureRevisionError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: false });
  }
}

/**
 * The write would take the db past `--quota-backend-bytes`: NOSPACE is raised and etcd refuses puts
 * until the space is recovered (compaction, defragmentation) and the alarm disarmed.
 */
export class DatabaseSpaceExceededError extends EtcdAdapterError {
  override readonly name = "DatabaseSpaceExceededError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: false });
  }
}

/** The etcd user (root, when auth is set up) exists already: the add was made before. */
export class UserAlreadyExistsError extends EtcdAdapterError {
  override readonly name = "UserAlreadyExistsError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: false });
  }
}

/** etcd authentication refused the call: the client certificate's CN is no user, or lacks the role. */
export class EtcdPermissionDeniedError extends EtcdAdapterError {
  override readonly name = "EtcdPermissionDeniedError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: false });
  }
}

/** etcd refused the request for a reason none of the other classes covers. */
export class EtcdRequestError extends EtcdAdapterError {
  override readonly name = "EtcdRequestError";
  constructor(message: string, cause: unknown) {
    super(message, { cause, retryable: false });
  }
}

/** The caller passed a value the adapter cannot use; nothing was sent to etcd. */
export class InvalidEtcdInputError extends EtcdAdapterError {
  override readonly name = "InvalidEtcdInputError";
  constructor(what: string, problem: string) {
    super(`invalid ${what}: ${problem}`, { retryable: false });
  }
}

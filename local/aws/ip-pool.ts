// Private IPs handed to emulated instances: 127.0.x.y addresses from a configured range, lowest free
// first, so an address is reused after its instance terminates (as EC2 does within a small subnet).
// Stale-peer-URL handling in the control plane is tested through that reuse.

export interface IpRange {
  /** First address of the pool, e.g. `127.0.10.1`. */
  readonly first: string;
  /** Last address of the pool (inclusive), e.g. `127.0.10.254`. */
  readonly last: string;
}

export class InvalidIpRangeError extends Error {
  override readonly name = "InvalidIpRangeError";
}

function toNumber(address: string, role: string): number {
  const match = /^127\.0\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  const x = Number(match?.[1]);
  const y = Number(match?.[2]);
  if (!match || x > 255 || y > 255) {
    throw new InvalidIpRangeError(`${role} address of the IP pool must be 127.0.<x>.<y>, got "${address}"`);
  }
  return x * 256 + y;
}

function toAddress(value: number): string {
  return `127.0.${Math.floor(value / 256)}.${value % 256}`;
}

export class IpPool {
  private readonly first: number;
  private readonly last: number;
  private readonly used = new Set<number>();

  constructor(range: IpRange) {
    this.first = toNumber(range.first, "first");
    this.last = toNumber(range.last, "last");
    if (this.first > this.last) {
      throw new InvalidIpRangeError(
        `IP pool first address ${range.first} is after last address ${range.last}`,
      );
    }
  }

  /** The lowest free address, or undefined when the pool is exhausted. */
  allocate(): string | undefined {
    for (let value = this.first; value <= this.last; value++) {
      if (!this.used.has(value)) {
        this.used.add(value);
        return toAddress(value);
      }
    }
    return undefined;
  }

  release(address: string): void {
    this.used.delete(toNumber(address, "released"));
  }
}

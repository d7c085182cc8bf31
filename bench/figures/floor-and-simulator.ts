// The two beds a side-by-side figure runs on: a floor EtcdBed and a converged simulator, both stopped
// when the figure ends (the simulator's files kept when it got stuck).
import type { Simulator } from "../../local/simulator/simulator";
import { EtcdBed } from "../floor/etcd-bed";
import { stopSimulator } from "../sim-flows";

export async function withFloorAndSimulator<T>(
  startSimulator: () => Promise<Simulator>,
  measure: (bed: EtcdBed, sim: Simulator) => Promise<T>,
): Promise<T> {
  let bed: EtcdBed | undefined;
  let sim: Simulator | undefined;
  let failure: unknown;
  try {
    bed = await EtcdBed.create();
    sim = await startSimulator();
    return await measure(bed, sim);
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    await stopSimulator(sim, failure);
    await bed?.stop();
  }
}

// What every figure gets from the command line: the repetitions and a progress line printer.
export interface FigureContext {
  readonly reps: number;
  /** MiB the join-1gib figure fills its clusters with (--join-data-mib). */
  readonly joinDataMib: number;
  progress(line: string): void;
}

// What every figure gets from the command line: the repetitions and a progress line printer.
export interface FigureContext {
  readonly reps: number;
  progress(line: string): void;
}

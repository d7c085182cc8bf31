// Whether a program is on PATH, for bench steps that need an optional tool.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export function onPath(program: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

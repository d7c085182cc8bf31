// The schema library every parser in lambdas/ uses: zod/mini, zod's tree-shakable functional build
// (a few KB in a bundle where zod's chained API weighs ~450 KB), with zod's English messages. The
// mini build loads no locale, so without this its every issue would read "Invalid input".
import { en } from "zod/locales";
import { config } from "zod/mini";

config(en());

export * from "zod/mini";

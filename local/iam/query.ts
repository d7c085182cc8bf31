// The parameters of a Query-protocol request (Auto Scaling, EC2): the form-encoded body and the URL
// query, as the emulator reads them.
import { parseQueryParams, type QueryParams } from "../aws/query-params";
import type { GateRequest } from "./front";

export function queryParams(request: GateRequest): QueryParams {
  return parseQueryParams(
    request.body?.toString("utf8") ?? "",
    new URL(request.url, "http://localhost").search,
  );
}

// CloudFormation's front end (Query protocol, `Action=DescribeStacks`): the permission a request
// needs, on the named stack's ARN (any stack ID), or on `*` when no stack is named.
import { queryRefusal } from "./denied";
import type { ServiceFront } from "./front";
import { queryParams } from "./query";

export const CLOUDFORMATION_XMLNS = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

export function cloudFormationFront(options: {
  readonly region: string;
  readonly account: string;
}): ServiceFront {
  return {
    signingName: "cloudformation",
    region: options.region,
    needsBody: () => true,
    resolve: (request) => {
      const params = queryParams(request);
      const operation = params.get("Action");
      if (operation === undefined || operation === "") return [];
      const stack = params.get("StackName");
      return [
        {
          action: `cloudformation:${operation}`,
          resource:
            stack === undefined || stack === ""
              ? "*"
              : stack.startsWith("arn:")
                ? stack
                : `arn:aws:cloudformation:${options.region}:${options.account}:stack/${stack}/*`,
        },
      ];
    },
    refuse: (refusal, _request, requestId) => queryRefusal(CLOUDFORMATION_XMLNS, refusal, requestId),
  };
}

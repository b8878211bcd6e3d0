import type { Role } from "../harness/role";
import type { Scenario } from "../harness/scenario";
import * as binaryStar from "./binary-star-failover";
import * as curve from "./curve";
import * as dealerRouter from "./dealer-router-echo";
import * as exactlyOnceCost from "./exactly-once-cost";
import * as idle from "./idle-connections";
import * as inproc from "./inproc-push-pull";
import * as inprocThreads from "./inproc-threads";
import * as majordomo from "./majordomo";
import * as brokerCost from "./majordomo-broker-cost";
import * as nats from "./nats-baseline";
import * as pubSub from "./pub-sub-fanout";
import * as pushPull from "./push-pull-tcp";
import * as reqRep from "./req-rep-latency";
import * as stalled from "./stalled-subscriber";

/** In report order: the order of the table. */
export const scenarios: readonly Scenario[] = [
  ...pushPull.scenarios,
  reqRep.scenario,
  dealerRouter.scenario,
  pubSub.scenario,
  inproc.scenario,
  ...inprocThreads.scenarios,
  idle.scenario,
  stalled.scenario,
  ...majordomo.scenarios,
  ...brokerCost.scenarios,
  ...nats.scenarios,
  ...binaryStar.scenarios,
  ...exactlyOnceCost.scenarios,
  ...curve.scenarios,
];

/** Every role a Node peer can play; the C peer implements the same names. */
export const roles: Readonly<Record<string, Role>> = {
  ...pushPull.roles,
  ...reqRep.roles,
  ...dealerRouter.roles,
  ...pubSub.roles,
  ...inproc.roles,
  ...inprocThreads.roles,
  ...idle.roles,
  ...stalled.roles,
  ...majordomo.roles,
  ...brokerCost.roles,
  ...nats.roles,
  ...binaryStar.roles,
  ...exactlyOnceCost.roles,
  ...curve.roles,
};

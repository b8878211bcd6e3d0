/** The PLAIN options follow libzmq's rules: the last one set picks the mechanism and role. */
import { Dealer, PrivateerError } from "../../src";

const sockets: Dealer[] = [];
afterEach(() => sockets.splice(0).forEach((socket) => socket.close()));
const dealer = (options: ConstructorParameters<typeof Dealer>[0] = {}) => {
  const socket = new Dealer({ linger: 0, ...options });
  sockets.push(socket);
  return socket;
};

it("plainServer makes a server and false returns to NULL; a username then makes a client", () => {
  const socket = dealer({ plainServer: true, zapDomain: "global" });
  expect(socket.plainServer).toBe(true);
  expect(socket.zapDomain).toBe("global");
  socket.plainUsername = "ann";
  expect(socket.plainServer).toBe(false);
  expect(socket.plainUsername).toBe("ann");
  socket.plainUsername = null;
  expect(socket.plainUsername).toBeNull();
  socket.plainServer = true;
  socket.plainServer = false;
  expect(socket.plainServer).toBe(false);
});

it("refuses credentials over 255 bytes with EINVAL, without echoing them", () => {
  const secret = "p".repeat(256);
  let thrown: unknown;
  try {
    dealer({ plainPassword: secret });
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(PrivateerError);
  expect((thrown as PrivateerError).code).toBe("EINVAL");
  expect((thrown as Error).message).not.toContain(secret.slice(0, 20));
  expect(() => dealer({ zapDomain: "d".repeat(256) })).toThrow(/zapDomain/);
});

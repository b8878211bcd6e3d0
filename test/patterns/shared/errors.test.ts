import { PrivateerError } from "../../../src";
import { BinaryStarError, MajordomoError, PatternError, PirateError } from "../../../patterns";
import { ExactlyOnceError } from "../../../patterns/exactly-once";

/*
 * One error base for every pattern family: each family's class is a
 * PatternError and a PrivateerError, keeps its name, its reason-to-code
 * table and the (reason, message, { cause }) constructor.
 */

describe("PatternError", () => {
  it("is the base of every family's error, below PrivateerError", () => {
    const errors = [
      new PirateError("timeout", "t"),
      new MajordomoError("timeout", "t"),
      new BinaryStarError("timeout", "t"),
      new ExactlyOnceError("busy", "t"),
    ];
    for (const error of errors) {
      expect(error).toBeInstanceOf(PatternError);
      expect(error).toBeInstanceOf(PrivateerError);
      expect(error).toBeInstanceOf(Error);
    }
    expect(errors.map((error) => [error.name, error.reason, error.code])).toEqual([
      ["PirateError", "timeout", "EAGAIN"],
      ["MajordomoError", "timeout", "EAGAIN"],
      ["BinaryStarError", "timeout", "EAGAIN"],
      ["ExactlyOnceError", "busy", "EAGAIN"],
    ]);
    // Families stay apart: a PirateError is no MajordomoError.
    expect(errors[0]).not.toBeInstanceOf(MajordomoError);
  });

  it("maps each reason to the same code as before the base existed", () => {
    const pirate = (["timeout", "closed", "aborted", "invalid"] as const).map((reason) => new PirateError(reason, "m").code);
    expect(pirate).toEqual(["EAGAIN", "EBADF", "ECANCELED", "EINVAL"]);
    const star = (["timeout", "closed", "aborted", "invalid"] as const).map((reason) => new BinaryStarError(reason, "m").code);
    expect(star).toEqual(pirate);
    const mdp = (
      ["timeout", "closed", "service-unavailable", "request-expired", "queue-full", "worker-error", "broker-error", "protocol", "aborted"] as const
    ).map((reason) => new MajordomoError(reason, "m").code);
    expect(mdp).toEqual(["EAGAIN", "EBADF", "ENOENT", "EAGAIN", "EAGAIN", "EPROTO", "EPROTO", "EPROTO", "ECANCELED"]);
    const once = (["driver-missing", "id-reused", "closed", "transaction-ended", "busy", "invalid"] as const).map(
      (reason) => new ExactlyOnceError(reason, "m").code,
    );
    expect(once).toEqual(["ENOENT", "EINVAL", "EBADF", "EFSM", "EAGAIN", "EINVAL"]);
  });

  it("a socket failure keeps the code of a PrivateerError cause, EPROTO for any other", () => {
    const cause = new PrivateerError("EHOSTUNREACH", "no route");
    expect(new PirateError("socket", "m", { cause })).toMatchObject({ code: "EHOSTUNREACH", cause });
    expect(new BinaryStarError("socket", "m", { cause })).toMatchObject({ code: "EHOSTUNREACH", cause });
    expect(new PirateError("socket", "m", { cause: new Error("x") }).code).toBe("EPROTO");
    expect(new BinaryStarError("socket", "m").code).toBe("EPROTO");
  });

  it("has a cause property exactly when it had one before", () => {
    expect("cause" in new PirateError("timeout", "m")).toBe(false);
    expect("cause" in new PirateError("timeout", "m", { cause: 1 })).toBe(true);
    expect("cause" in new ExactlyOnceError("busy", "m")).toBe(false);
    // MajordomoError always passed an object naming `cause`.
    expect("cause" in new MajordomoError("timeout", "m")).toBe(true);
    expect(new MajordomoError("worker-error", "m", { status: "500" })).toMatchObject({ status: "500", code: "EPROTO" });
  });
});

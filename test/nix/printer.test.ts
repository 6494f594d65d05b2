import { describe, expect, it } from "vitest";
import { evaluateNix, NixError, printNix } from "../../src/nix/index.ts";

describe("printNix", () => {
  it("prints canonical, readable Nix", () => {
    expect(
      printNix({
        wireguardUsers: { alice: { ip: "10.0.100.2", enabled: true } },
        b: [1, -2, 2.5, null, [], {}],
        "a b": "x",
      }),
    ).toBe(
      [
        "{",
        '  "a b" = "x";',
        "  b = [",
        "    1",
        "    (-2)",
        "    2.5",
        "    null",
        "    [ ]",
        "    { }",
        "  ];",
        "  wireguardUsers = {",
        "    alice = {",
        "      enabled = true;",
        '      ip = "10.0.100.2";',
        "    };",
        "  };",
        "}",
      ].join("\n"),
    );
  });

  it("never lets a string become code", () => {
    const nasty = ["${builtins.currentTime}", "$${x}", "''${x}", "''$", "\\${x}", '"; x = 1; "', "\r\n\t", "$", "${"];
    for (const s of nasty) {
      const printed = printNix(s);
      expect(evaluateNix(printed)).toBe(s);
      expect(evaluateNix(printNix({ [s]: s }))).toEqual({ [s]: s });
    }
    expect(printNix("${x}")).toBe('"\\${x}"');
  });

  it("quotes keys that are not plain identifiers, including keywords", () => {
    expect(printNix({ or: 1, "": 2, "a.b": 3, "1a": 4, "x-y'": 5 })).toBe(
      '{\n  "" = 2;\n  "1a" = 4;\n  "a.b" = 3;\n  "or" = 1;\n  x-y\' = 5;\n}',
    );
  });

  it("prints floats that read back to the same double", () => {
    for (const x of [0.1, 1e21, 1e-7, -2.5e-300, 5e-324, 2 ** 60, 123456789.125]) {
      expect(evaluateNix(printNix(x))).toBe(x);
    }
    expect(printNix(1e21)).toBe("1.0e+21");
    expect(printNix(9223372036854775807n)).toBe("9223372036854775807");
    expect(printNix(-(2n ** 63n))).toBe("(-9223372036854775807 - 1)");
  });

  it("refuses what Nix cannot represent", () => {
    const bad: unknown[] = [
      undefined,
      () => 1,
      Symbol("s"),
      Number.NaN,
      Number.POSITIVE_INFINITY,
      new Date(0),
      "a\0b",
      2n ** 64n,
    ];
    for (const v of bad) expect(() => printNix(v)).toThrow(NixError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => printNix(cyclic)).toThrow(/cyclic/);
  });
});

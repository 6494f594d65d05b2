#!/usr/bin/env node
// Entry point: Node >= 22.18 runs our TypeScript sources directly (type stripping).
import { main } from "../src/cli/main.ts";

process.exitCode = await main(process.argv.slice(2));

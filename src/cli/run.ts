#!/usr/bin/env node
// The CLI as one program: the entry of the deploy engine bundle (src/nodes/engine.ts).
import { main } from "./main.ts";

process.exitCode = await main(process.argv.slice(2));

/**
 * A reader that goes away (`nixlab status | head`) is not an error: the rest of the
 * output is dropped quietly, the command finishes (a deploy is never cut short by a
 * closed pipe) and keeps its exit code. No EPIPE stack trace.
 */
export function dropOutputOnClosedPipe(
  streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr],
): void {
  for (const stream of streams) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED") {
        stream.destroy();
        return;
      }
      throw error;
    });
  }
}

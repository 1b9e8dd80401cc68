/** A socket server's count of frames sent, and how it forgets a socket. */
export interface FrameSink {
  framesSent: number;
  drop(ws: WebSocket): void;
}

/**
 * Sends one frame, counted; a socket whose `send` throws (it closed under us) is dropped.
 * False when the socket is gone. The market's sockets and the stream hubs' both send this way.
 */
export function sendFrame(sink: FrameSink, ws: WebSocket, text: string): boolean {
  try {
    ws.send(text);
    sink.framesSent++;
    return true;
  } catch {
    sink.drop(ws);
    return false;
  }
}

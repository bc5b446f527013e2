import type { Logger } from '../../common/logger.js';
import type { CollectorProgress } from '../types.js';
import type { SocketLoopOptions } from './socket.js';

/** How a WebSocket stream counts (in `progress.dropped`) and logs (sampled) the frames it skips. */
export interface DroppedFrames extends Pick<SocketLoopOptions, 'onUnreadable' | 'onBinary' | 'onOversized'> {
  /** A frame the exchange's hooks could not read: skipped, never fatal. */
  unparsed(text: string, err: unknown): void;
}

/** The dropped-frame handlers of one stream of `exchange`, whose connections take frames up to `maxFrameBytes`. */
export function droppedFrames(progress: CollectorProgress, logger: Logger, exchange: string, maxFrameBytes: number): DroppedFrames {
  const unparsed = (text: string, err: unknown): void => {
    if (!progress.drop('unparsed')) return;
    const reason = err instanceof Error ? err.message : String(err);
    logger.warn({ unparsedFrames: progress.dropped.unparsed, reason, frame: text.slice(0, 300) }, 'skipped a frame that could not be parsed');
  };
  return {
    unparsed,
    onUnreadable: (err, preview) => unparsed(preview, err),
    onBinary: (size) => {
      if (progress.drop('binary')) logger.warn({ binaryFrames: progress.dropped.binary, bytes: size }, `skipped a binary frame: ${exchange} sends text`);
    },
    onOversized: () => {
      progress.drop('oversized');
      logger.warn({ oversizedFrames: progress.dropped.oversized, maxFrameBytes }, 'dropped a frame over the size limit unread; reconnecting');
    },
  };
}

// Arbitrary delivery times, as RocketMQ 5 accepts them: TIMER_DELIVER_MS (epoch ms),
// TIMER_DELAY_SEC or TIMER_DELAY_MS (relative to the put). A timer message is stored in
// rmq_sys_wheel_timer queue 0 with REAL_TOPIC / REAL_QID and TIMER_OUT_MS (the delivery time)
// and delivered by the TimerMessageService; a time already past is stored where it was sent.

import { SystemTopic } from '../topic-config-manager.js';
import { decodeProperties, encodeProperties, MessageProperty } from '../../protocol/properties.js';
import { MessageSysFlag } from '../../protocol/message-record.js';
import type { AppendMessage } from '../../store/index.js';

/** RocketMQ 5's timer topic. */
export const TIMER_TOPIC: string = SystemTopic.TIMER;
export const TIMER_OUT_MS = 'TIMER_OUT_MS';

const TIMER_MARK = Buffer.from('TIMER_', 'utf8');

/** Too many timer messages pending (timerMaxPendingMessages): refused until deliveries catch up. */
export class TimerFlowControlError extends Error {
  readonly code = 'TIMER_FLOW_CONTROL';
}

/** A timer property that cannot be honoured (beyond the maximum, not a number). */
export class TimerMessageError extends Error {
  readonly code = 'TIMER_MESSAGE_ILLEGAL';
}

/** Whether the properties name a delivery time (absolute or relative): the ones deliverTime reads. */
export function asksForTimer(properties: Readonly<Record<string, string>>): boolean {
  return properties[MessageProperty.TIMER_DELIVER_MS] !== undefined
    || properties[MessageProperty.TIMER_DELAY_SEC] !== undefined
    || properties[MessageProperty.TIMER_DELAY_MS] !== undefined;
}

function deliverTime(properties: Record<string, string>, now: number): number | undefined {
  const absolute = properties[MessageProperty.TIMER_DELIVER_MS];
  const seconds = properties[MessageProperty.TIMER_DELAY_SEC];
  const millis = properties[MessageProperty.TIMER_DELAY_MS];
  const parse = (raw: string, name: string): number => {
    const value = Number(raw);
    if (!Number.isSafeInteger(value)) throw new TimerMessageError(`timer message illegal: ${name}=${raw} is not an integer`);
    return value;
  };
  if (absolute !== undefined) return parse(absolute, MessageProperty.TIMER_DELIVER_MS);
  if (seconds !== undefined) return now + parse(seconds, MessageProperty.TIMER_DELAY_SEC) * 1000;
  if (millis !== undefined) return now + parse(millis, MessageProperty.TIMER_DELAY_MS);
  return undefined;
}

/**
 * `message` re-addressed to the timer topic if it carries a future delivery time; otherwise
 * `message`. A DELAY level wins over timer properties (it was handled before this is called).
 * @throws TimerMessageError for a time beyond `maxDelayMs` from now or a non-integer value.
 */
export function timerIfRequested(message: AppendMessage, maxDelayMs: number, now = Date.now()): AppendMessage {
  if (message.properties.indexOf(TIMER_MARK) < 0) return message;
  const txType = (message.sysFlag ?? 0) & MessageSysFlag.TRANSACTION_ROLLBACK;
  if (txType === MessageSysFlag.TRANSACTION_PREPARED || txType === MessageSysFlag.TRANSACTION_ROLLBACK) return message;
  const properties = decodeProperties(message.properties.toString('utf8'));
  if (properties[MessageProperty.DELAY] !== undefined) return message;
  const due = deliverTime(properties, now);
  if (due === undefined || due <= now) return message;
  if (due - now > maxDelayMs) {
    throw new TimerMessageError(`timer message illegal: delivery in ${due - now} ms is beyond the maximum ${maxDelayMs} ms`);
  }
  properties[MessageProperty.REAL_TOPIC] = message.topic;
  properties[MessageProperty.REAL_QID] = String(message.queueId);
  properties[TIMER_OUT_MS] = String(due);
  return { ...message, topic: TIMER_TOPIC, queueId: 0, properties: Buffer.from(encodeProperties(properties), 'utf8') };
}

import { z } from 'zod';

/**
 * The rules a stream configuration must follow, checked by the client before anything is sent and
 * by the embedded controller: Pravega's ScalingPolicy (`targetRate`, `scaleFactor` and
 * `minNumSegments` are positive int32 on the wire), RetentionPolicy (non-negative limits, max not
 * below min) and stream tags (at most 128, each 1-256 characters).
 */

const INT32_MAX = 2 ** 31 - 1;
const LONG_MAX = 2n ** 63n - 1n;

const minSegments = z.number().int().min(1).max(10_000);
const targetRate = z.number().int().min(1).max(INT32_MAX);
const scaleFactor = z.number().int().min(1).max(INT32_MAX);

export const ScalingPolicySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('fixed'), minSegments }).strict(),
  z.object({ type: z.literal('byEventRate'), targetRate, scaleFactor, minSegments }).strict(),
  z.object({ type: z.literal('byDataRate'), targetRate, scaleFactor, minSegments }).strict(),
]);

const limit = z.bigint().min(0n).max(LONG_MAX);

export const RetentionPolicySchema = z.discriminatedUnion('type', [
  z
    .object({ type: z.literal('time'), minMillis: limit, maxMillis: limit.optional() })
    .strict()
    .refine((r) => r.maxMillis === undefined || r.maxMillis >= r.minMillis, {
      message: 'must not be below minMillis',
      path: ['maxMillis'],
    }),
  z
    .object({ type: z.literal('size'), minBytes: limit, maxBytes: limit.optional() })
    .strict()
    .refine((r) => r.maxBytes === undefined || r.maxBytes >= r.minBytes, {
      message: 'must not be below minBytes',
      path: ['maxBytes'],
    }),
]);

export const StreamConfigSchema = z
  .object({
    scalingPolicy: ScalingPolicySchema,
    retentionPolicy: RetentionPolicySchema.optional(),
    tags: z.array(z.string().min(1).max(256)).max(128).optional(),
  })
  .strict();

import type { z } from '@hono/zod-openapi';

/** An OpenAPI request body or response of JSON in `schema`. */
export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

/** The error answers every authenticated route shares, in `schema` (cadre's or OpenAI's error shape). */
export const errorResponses = <T extends z.ZodType>(schema: T, notFound: string) =>
  ({
    400: jsonContent(schema, 'Bad input'),
    401: jsonContent(schema, 'No valid API key'),
    404: jsonContent(schema, notFound),
  }) as const;

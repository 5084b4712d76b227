import type { FastifyInstance } from 'fastify';

/**
 * Bodies are read as they come: a compressed body would be parsed as if it were plain (a gzip body
 * fails as malformed JSON, a plain body labelled gzip runs). Any Content-Encoding other than
 * identity is refused with 415 before the body is read; nothing the API's clients send is large
 * enough to be worth compressing.
 */
export function refuseContentEncodings(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    const given = req.headers['content-encoding'];
    if (given === undefined) return;
    const codings = given.split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '' && c !== 'identity');
    if (codings.length === 0) return;
    return reply
      .code(415)
      .header('accept-encoding', 'identity')
      .type('application/json; charset=utf-8')
      .send({ detail: `Unsupported Content-Encoding: ${codings.join(', ')} (send the body uncompressed)` });
  });
}

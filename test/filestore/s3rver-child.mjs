// Runs s3rver in its own process (started by s3rver-server.ts). Separate because s3rver signs
// list continuation tokens with DES, which OpenSSL 3 only offers with --openssl-legacy-provider,
// and so that its memory is not counted in the test process's memory probes.
// argv: <data dir> <bucket>...; prints {"port":N} once listening; exits when stdin closes.
import S3rver from 's3rver';

const [directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name })),
});
const addr = await server.run();
process.stdout.write(JSON.stringify({ port: addr.port }) + '\n');
const stop = async () => {
  await server.close().catch(() => undefined);
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);

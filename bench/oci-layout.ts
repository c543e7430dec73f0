// A one-layer OCI image layout on disk (skopeo's `oci:DIR` source) whose layer is fresh
// random bytes: a registry cannot have it already. The layer is gzip at level 0 (stored
// blocks): skopeo sees it is already compressed and sends it as is, instead of spending
// the load core on gzip (it compresses an uncompressed layer for a docker:// push).

import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'

/** The tag index.json names the image by (skopeo `oci:DIR:TAG`). */
export const OCI_TAG = 'bench'

const CHUNK_BYTES = 1 << 20

/**
 * Writes an image whose one layer holds `bytes` random bytes under `dir`; returns the
 * layer blob's size (a little over `bytes`: gzip framing).
 */
export async function writeRandomImage(dir: string, bytes: number): Promise<number> {
  const blobs = join(dir, 'blobs', 'sha256')
  mkdirSync(blobs, { recursive: true })
  const partial = join(blobs, 'layer.partial')
  const hash = createHash('sha256')
  let size = 0
  await pipeline(
    function* random() {
      for (let left = bytes; left > 0; left -= CHUNK_BYTES)
        yield randomBytes(Math.min(CHUNK_BYTES, left))
    },
    createGzip({ level: 0 }),
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk)
        size += chunk.length
        done(null, chunk)
      },
    }),
    createWriteStream(partial),
  )
  const layer = `sha256:${hash.digest('hex')}`
  const diffId = layer
  renameSync(partial, join(blobs, layer.slice(7)))
  const blob = (text: string) => {
    const digest = `sha256:${createHash('sha256').update(text).digest('hex')}`
    writeFileSync(join(blobs, digest.slice(7)), text)
    return { digest, size: Buffer.byteLength(text) }
  }
  const config = blob(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      // Not the true diff ID (that of the uncompressed bytes): nothing checks it here.
      rootfs: { type: 'layers', diff_ids: [diffId] },
    }),
  )
  const manifest = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer, size },
      ],
    }),
  )
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'org.opencontainers.image.ref.name': OCI_TAG },
        },
      ],
    }),
  )
  return size
}

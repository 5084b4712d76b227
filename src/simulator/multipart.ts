/**
 * The multipart/form-data body of `POST .../storage/{storage}/upload`. pve-http-server streams the
 * file part to `/var/tmp/pveupload-*` and hands the handler the other fields plus `filename` and
 * `tmpfilename`. The simulator keeps only the start and the end of the body (files may be ISOs of
 * gigabytes): fields before the file are read from the start, fields after it from the end, and
 * the file's size is what lies between.
 */

const HEAD_BYTES = 1024 * 1024;
const TAIL_BYTES = 64 * 1024;

export interface UploadBody {
  fields: Record<string, string>;
  file?: { field: string; filename: string; size: number };
}

export const multipartBoundary = (contentType: string | undefined): string | undefined => {
  const m = /^multipart\/form-data;.*\bboundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return m ? (m[1] ?? m[2]) : undefined;
};

export class MultipartCollector {
  private head: Buffer = Buffer.alloc(0);
  private tail: Buffer = Buffer.alloc(0);
  private total = 0;

  constructor(private readonly boundary: string) {}

  push(chunk: Buffer): void {
    if (this.head.length < HEAD_BYTES) this.head = Buffer.concat([this.head, chunk.subarray(0, HEAD_BYTES - this.head.length)]);
    this.tail = Buffer.concat([this.tail, chunk]);
    if (this.tail.length > TAIL_BYTES) this.tail = this.tail.subarray(this.tail.length - TAIL_BYTES);
    this.total += chunk.length;
  }

  finish(): UploadBody {
    const delimiter = Buffer.from(`--${this.boundary}`);
    const body: UploadBody = { fields: {} };
    const whole = this.total <= HEAD_BYTES;
    let offset = this.head.indexOf(delimiter);
    while (offset >= 0) {
      const headersEnd = this.head.indexOf('\r\n\r\n', offset);
      if (headersEnd < 0) break;
      const disposition = /content-disposition:[^\r\n]*/i.exec(this.head.subarray(offset, headersEnd).toString('latin1'))?.[0] ?? '';
      const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
      const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
      const dataStart = headersEnd + 4;
      const next = this.head.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), dataStart);
      if (next < 0 && whole) break;
      if (next < 0) {
        // The part runs past the kept start: it is the file, and it ends where the tail's first delimiter is.
        if (name !== undefined && filename !== undefined) {
          const inTail = this.tail.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]));
          const end = inTail < 0 ? this.total : this.total - this.tail.length + inTail;
          body.file = { field: name, filename, size: Math.max(0, end - dataStart) };
          if (inTail >= 0) Object.assign(body.fields, new MultipartCollector(this.boundary).parseComplete(this.tail.subarray(inTail + 2)).fields);
        }
        break;
      }
      if (name !== undefined) {
        if (filename !== undefined) body.file = { field: name, filename, size: next - dataStart };
        else body.fields[name] = this.head.subarray(dataStart, next).toString('utf8');
      }
      offset = next + 2;
      if (this.head.subarray(offset + delimiter.length, offset + delimiter.length + 2).toString() === '--') break;
    }
    return body;
  }

  /** Parses a buffer that holds whole parts (used for the parts after the file). */
  private parseComplete(buf: Buffer): UploadBody {
    this.head = buf;
    this.total = buf.length;
    return this.finish();
  }
}

import { randomBytes } from 'node:crypto';

/**
 * Random 16-bit tokens for PUSH_DATA / PULL_DATA, drawn from the system CSPRNG
 * in blocks. The reference forwarder uses rand() without srand(), so every start
 * repeats the same sequence [PF4 lora_pkt_fwd.c]; ours differ per start.
 */
export class TokenSource {
  private pool = Buffer.alloc(0);
  private pos = 0;

  /** Next random token, 0..65535. */
  next(): number {
    if (this.pos + 2 > this.pool.length) {
      this.pool = randomBytes(512);
      this.pos = 0;
    }
    const t = this.pool.readUInt16BE(this.pos);
    this.pos += 2;
    return t;
  }
}

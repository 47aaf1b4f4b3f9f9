import { hasControlByte } from '../../../../functions/core/source/trail-files/record-fields';

describe('hasControlByte', () => {
  // Word-at-a-time over the aligned middle, byte-at-a-time at the ends: every offset and length
  // around a word boundary, every byte value, at every position.
  const memory = Buffer.alloc(64);

  it('finds any byte below 0x20 wherever it sits, at any alignment', () => {
    for (let offset = 0; offset < 8; offset++) {
      for (let length = 1; length <= 24; length++) {
        for (let at = 0; at < length; at++) {
          for (let byte = 0; byte < 0x20; byte++) {
            memory.fill(0x61);
            const view = memory.subarray(offset, offset + length);
            view[at] = byte;
            if (!hasControlByte(view)) throw new Error(`missed 0x${byte.toString(16)} at ${at} of ${length} bytes at offset ${offset}`);
          }
        }
      }
    }
  });

  it('passes every byte from 0x20 up, including UTF-8 continuation bytes, and ignores memory outside the view', () => {
    for (let offset = 0; offset < 8; offset++) {
      for (let length = 0; length <= 24; length++) {
        for (let byte = 0x20; byte <= 0xff; byte++) {
          memory.fill(0x00);
          const view = memory.subarray(offset, offset + length);
          view.fill(byte);
          // Mixed with its neighbours too, so a borrow across bytes would show.
          for (let k = 0; k < length; k += 2) view[k] = 0x20 + ((byte + k) % 0xe0);
          if (hasControlByte(view)) throw new Error(`false alarm on 0x${byte.toString(16)}, ${length} bytes at offset ${offset}`);
        }
      }
    }
    expect(hasControlByte(Buffer.from('{"eventName":"caf\u00e9 \u{1F600}"}'))).toBe(false);
    expect(hasControlByte(Buffer.from('{"eventName":"a\u0085b"}'))).toBe(false);
  });
});

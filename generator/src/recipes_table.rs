// Generated table: one scenario per byte-triggerable rule (see recipes.rs).
pub(super) const RECIPES: &[(&str, &str)] = &[
    (
        "FILE-TOO-SMALL",
        r#"description: A fixed image cut to 300 bytes.
seed: 1
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
mutations:
  - op: {set-file-length: {length: 300}}
    expect: [FILE-TOO-SMALL]
"#,
    ),
    (
        "FILE-SIZE-SECTOR-ALIGN",
        r#"description: "100 bytes appended after the footer of a fixed image: the size is neither a multiple of 512 nor 511 modulo 512."
seed: 1
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
mutations:
  - op: {append: {length: 100, byte: 0x55}}
    expect: [FILE-SIZE-SECTOR-ALIGN]
"#,
    ),
    (
        "FILE-SHORT-FOOTER",
        r#"description: A dynamic image with the pre-2004 511-byte trailing footer.
seed: 1
expect_findings: [FILE-SHORT-FOOTER]
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
  layout: {short_footer: true}
"#,
    ),
    (
        "FILE-FIXED-SIZE-SHORT",
        r#"description: A 1 MiB fixed image whose footer claims 2 MiB (resealed).
seed: 1
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
mutations:
  - op: {set-footer-field: {field: current-size, value: 2097152}}
    expect: [FILE-FIXED-SIZE-SHORT, FOOTER-ORIGINAL-SIZE]
"#,
    ),
    (
        "FILE-FIXED-SIZE-LONG",
        r#"description: A fixed image with 4 KiB of slack between the data and the footer.
seed: 1
expect_findings: [FILE-FIXED-SIZE-LONG]
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
  layout: {padding_before_footer: 4 KiB}
"#,
    ),
    (
        "FILE-TRUNCATED",
        r#"description: A dynamic image cut 1 MiB into its last block, the footer rewritten at the new end.
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {cut-before-footer: {bytes: 1 MiB}}
    expect: [FILE-TRUNCATED]
"#,
    ),
    (
        "FILE-GAP-BEFORE-FOOTER",
        r#"description: A dynamic image with 4 KiB of unused space before the trailing footer.
seed: 1
expect_findings: [FILE-GAP-BEFORE-FOOTER]
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
  layout: {padding_before_footer: 4 KiB}
"#,
    ),
    (
        "FILE-TRAILING-GARBAGE",
        r#"description: 512 zero bytes appended after the trailing footer of a dynamic image.
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {append: {length: 512}}
    expect: [FILE-TRAILING-GARBAGE]
"#,
    ),
    (
        "FILE-POISONED",
        r#"description: The trailing footer cookie of a dynamic image is blktap's v_poison (resealed); the copy at 0 is intact.
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-footer-field: {field: cookie, value: v_poison, which: tail}}
    expect: [FILE-POISONED, FOOTER-COOKIE, FOOTER-TAIL-INVALID-HEAD-VALID]
"#,
    ),
    (
        "FOOTER-COOKIE",
        r#"description: A fixed image whose footer cookie is conectiX (resealed).
seed: 1
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
mutations:
  - op: {set-footer-field: {field: cookie, value: conectiX}}
    expect: [FOOTER-COOKIE]
"#,
    ),
    (
        "FOOTER-CHECKSUM",
        r#"description: A fixed image whose footer checksum is off by one.
seed: 1
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
mutations:
  - op: {break-footer-checksum: {}}
    expect: [FOOTER-CHECKSUM]
"#,
    ),
    (
        "FOOTER-FEATURES-RESERVED-BIT",
        r#"description: "Features 0: the reserved bit 1 is clear."
seed: 1
expect_findings: [FOOTER-FEATURES-RESERVED-BIT]
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
  footer: {features: 0}
"#,
    ),
    (
        "FOOTER-FEATURES-UNKNOWN-BITS",
        r#"description: "Features 0x6: bit 2 is set."
seed: 1
expect_findings: [FOOTER-FEATURES-UNKNOWN-BITS]
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
  footer: {features: 0x6}
"#,
    ),
    (
        "FOOTER-FEATURES-TEMPORARY",
        r#"description: "Features 0x3: the temporary bit is set."
seed: 1
expect_findings: [FOOTER-FEATURES-TEMPORARY]
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
  footer: {features: 0x3}
"#,
    ),
    (
        "FOOTER-VERSION",
        r#"description: File format version 2.0 (resealed).
seed: 1
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
mutations:
  - op: {set-footer-field: {field: version, value: 0x00020000}}
    expect: [FOOTER-VERSION]
"#,
    ),
    (
        "FOOTER-DATA-OFFSET-FIXED",
        r#"description: A fixed image whose data offset is the spec's literal 0xFFFFFFFF (resealed).
seed: 1
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
mutations:
  - op: {set-footer-field: {field: data-offset, value: 0xFFFFFFFF}}
    expect: [FOOTER-DATA-OFFSET-FIXED]
"#,
    ),
    (
        "FOOTER-DATA-OFFSET-BOUNDS",
        r#"description: A dynamic image whose data offset points past the end of the file (both copies, resealed).
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-footer-field: {field: data-offset, value: 0x10000000}}
    expect: [FOOTER-DATA-OFFSET-BOUNDS]
"#,
    ),
    (
        "FOOTER-DATA-OFFSET-NOT-512",
        r#"description: A dynamic image whose dynamic disk header sits at 1024, not right after the footer copy.
seed: 1
expect_findings: [FOOTER-DATA-OFFSET-NOT-512]
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
  layout: {header_offset: 1024}
"#,
    ),
    (
        "FOOTER-DATA-OFFSET-ALIGN",
        r#"description: A dynamic image whose dynamic disk header sits at byte 600.
seed: 1
expect_findings: [FOOTER-DATA-OFFSET-ALIGN, FOOTER-DATA-OFFSET-NOT-512]
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
  layout: {header_offset: 600}
"#,
    ),
    (
        "FOOTER-DISK-TYPE",
        r#"description: A fixed image whose disk type is 5 (deprecated; resealed).
seed: 1
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
mutations:
  - op: {set-footer-field: {field: disk-type, value: 5}}
    expect: [FOOTER-DISK-TYPE]
"#,
    ),
    (
        "FOOTER-TIMESTAMP-FUTURE",
        r#"description: A footer time stamp in 2031, after the corpus check time (2025-01-01).
seed: 1
expect_findings: [FOOTER-TIMESTAMP-FUTURE]
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
  footer: {timestamp: 1000000000}
"#,
    ),
    (
        "FOOTER-CREATOR-UNKNOWN",
        r#"description: Creator application `abcd`; the size is a CHS product (30/4/17), so no reader sizes it differently.
seed: 1
expect_findings: [FOOTER-CREATOR-UNKNOWN, FOOTER-SIZE-MIB-ALIGN]
image:
  type: fixed
  size: 1044480
  footer: {creator_application: abcd}
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
"#,
    ),
    (
        "FOOTER-CREATOR-HOST-OS",
        r#"description: Creator host OS `Lnux`.
seed: 1
expect_findings: [FOOTER-CREATOR-HOST-OS]
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
  footer: {creator_host_os: Lnux}
"#,
    ),
    (
        "FOOTER-CREATOR-TAP-VERSION",
        r#"description: Creator `tap` with creator version 1.4, newer than blktap's last (1.3).
seed: 1
expect_findings: [FOOTER-CREATOR-TAP-VERSION]
image:
  type: dynamic
  size: 4 MiB
  footer: {creator_application: "tap\0", creator_version: 0x00010004}
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
"#,
    ),
    (
        "FOOTER-SIZE-ALIGN",
        r#"description: A dynamic disk of 1 MiB + 100 bytes.
seed: 1
expect_findings: [FOOTER-SIZE-ALIGN, FOOTER-SIZE-MIB-ALIGN]
image:
  type: dynamic
  size: 1048676
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
"#,
    ),
    (
        "FOOTER-SIZE-MIB-ALIGN",
        r#"description: A dynamic disk of 1536 KiB.
seed: 1
expect_findings: [FOOTER-SIZE-MIB-ALIGN]
image:
  type: dynamic
  size: 1536 KiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
"#,
    ),
    (
        "FOOTER-SIZE-ZERO",
        r#"description: A dynamic disk of current size 0 (no BAT entries).
seed: 1
expect_findings: [FOOTER-SIZE-ZERO]
image:
  type: dynamic
  size: 0
"#,
    ),
    (
        "FOOTER-SIZE-MAX",
        r#"description: A dynamic disk whose footer claims 4 TiB (resealed).
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-footer-field: {field: current-size, value: 4 TiB}}
    expect: [FOOTER-SIZE-MAX]
"#,
    ),
    (
        "FOOTER-ORIGINAL-SIZE",
        r#"description: Original size 2 MiB, current size 4 MiB (a grown disk).
seed: 1
expect_findings: [FOOTER-ORIGINAL-SIZE]
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
  footer: {original_size: 2 MiB}
"#,
    ),
    (
        "FOOTER-GEOMETRY",
        r#"description: Geometry 65535/16/255, larger than the CHS algorithm gives for 1 MiB.
seed: 1
expect_findings: [FOOTER-GEOMETRY]
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
  footer: {geometry: {cylinders: 65535, heads: 16, sectors_per_track: 255}}
"#,
    ),
    (
        "FOOTER-GEOMETRY-SIZE-DIVERGENCE",
        r#"description: Creator `vpc ` (sized by CHS in QEMU) with a CHS product below the current size.
seed: 1
expect_findings: [FOOTER-GEOMETRY-SIZE-DIVERGENCE]
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
  footer: {creator_application: "vpc ", creator_version: 0x00050000}
"#,
    ),
    (
        "FOOTER-GEOMETRY-SIZE-QEMU-LEGACY",
        r#"description: Creator `*img` (FreeBSD mkimg) with a CHS product below the current size, which only QEMU before 10.0 sizes by geometry.
seed: 1
expect_findings: [FOOTER-GEOMETRY-SIZE-QEMU-LEGACY, FOOTER-CREATOR-UNKNOWN]
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
  footer: {creator_application: "*img", creator_version: 0x00020000}
"#,
    ),
    (
        "FOOTER-GEOMETRY-ZERO",
        r#"description: Geometry 0/0/0.
seed: 1
expect_findings: [FOOTER-GEOMETRY-ZERO]
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
  footer: {geometry: {cylinders: 0, heads: 0, sectors_per_track: 0}}
"#,
    ),
    (
        "FOOTER-GEOMETRY-RANGE",
        r#"description: "Geometry 10/17/17: more than 16 heads."
seed: 1
expect_findings: [FOOTER-GEOMETRY-RANGE]
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
  footer: {geometry: {cylinders: 10, heads: 17, sectors_per_track: 17}}
"#,
    ),
    (
        "FOOTER-SAVED-STATE",
        r#"description: Saved state byte 2.
seed: 1
expect_findings: [FOOTER-SAVED-STATE]
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
  footer: {saved_state: 2}
"#,
    ),
    (
        "FOOTER-SAVED-STATE-SET",
        r#"description: Saved state byte 1.
seed: 1
expect_findings: [FOOTER-SAVED-STATE-SET]
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
  footer: {saved_state: 1}
"#,
    ),
    (
        "FOOTER-RESERVED",
        r#"description: Footer byte 86 (reserved) is 1 (resealed).
seed: 1
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
mutations:
  - op: {set-footer-field: {field: reserved, value: 1}}
    expect: [FOOTER-RESERVED]
"#,
    ),
    (
        "FOOTER-BLKTAP-HIDDEN",
        r#"description: Footer byte 85 (blktap's hidden flag) is 1 (resealed).
seed: 1
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
mutations:
  - op: {set-footer-field: {field: hidden, value: 1}}
    expect: [FOOTER-BLKTAP-HIDDEN]
"#,
    ),
    (
        "FOOTER-UUID-NULL",
        r#"description: An all-zero unique id.
seed: 1
expect_findings: [FOOTER-UUID-NULL]
image:
  type: fixed
  size: 1 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
  footer: {unique_id: "00000000-0000-0000-0000-000000000000"}
"#,
    ),
    (
        "FOOTER-COPY-MISSING",
        r#"description: A dynamic image whose footer copy at 0 has a bad cookie.
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-footer-field: {field: cookie, value: xxxxxxxx, which: copy}}
    expect: [FOOTER-COPY-MISSING]
"#,
    ),
    (
        "FOOTER-COPY-CHECKSUM",
        r#"description: A dynamic image whose footer copy at 0 keeps its cookie but has a bad checksum.
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
mutations:
  - op: {break-footer-checksum: {which: copy}}
    expect: [FOOTER-COPY-CHECKSUM]
"#,
    ),
    (
        "FOOTER-COPY-MISMATCH",
        r#"description: A dynamic image whose footer copy has another time stamp (both copies valid).
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-footer-field: {field: timestamp, value: 12345, which: copy}}
    expect: [FOOTER-COPY-MISMATCH]
"#,
    ),
    (
        "FOOTER-TAIL-INVALID-HEAD-VALID",
        r#"description: A dynamic image whose trailing footer checksum is broken; the copy at 0 is valid.
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {break-footer-checksum: {which: tail}}
    expect: [FOOTER-TAIL-INVALID-HEAD-VALID, FOOTER-CHECKSUM]
"#,
    ),
    (
        "HEADER-COOKIE",
        r#"description: Dynamic disk header cookie cxsparsX (resealed).
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-header-field: {field: cookie, value: cxsparsX}}
    expect: [HEADER-COOKIE]
"#,
    ),
    (
        "HEADER-CHECKSUM",
        r#"description: Dynamic disk header checksum off by one.
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {break-header-checksum: {}}
    expect: [HEADER-CHECKSUM]
"#,
    ),
    (
        "HEADER-VERSION",
        r#"description: Header version 2.0 (resealed).
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-header-field: {field: version, value: 0x00020000}}
    expect: [HEADER-VERSION]
"#,
    ),
    (
        "HEADER-DATA-OFFSET",
        r#"description: Header data offset is the spec's literal 0xFFFFFFFF (resealed).
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-header-field: {field: data-offset, value: 0xFFFFFFFF}}
    expect: [HEADER-DATA-OFFSET]
"#,
    ),
    (
        "HEADER-TABLE-OFFSET-BOUNDS",
        r#"description: Table offset past the end of the file (resealed).
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-header-field: {field: table-offset, value: 0x40000000}}
    expect: [HEADER-TABLE-OFFSET-BOUNDS]
"#,
    ),
    (
        "HEADER-TABLE-OFFSET-ALIGN",
        r#"description: The BAT at byte 1600, not on a sector boundary.
seed: 1
expect_findings: [HEADER-TABLE-OFFSET-ALIGN]
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
  layout: {bat_offset: 1600}
"#,
    ),
    (
        "HEADER-BAT-OVERLAP-METADATA",
        r#"description: "Table offset 512: the BAT overlaps the dynamic disk header (resealed)."
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-header-field: {field: table-offset, value: 512}}
    expect: [HEADER-BAT-OVERLAP-METADATA]
"#,
    ),
    (
        "HEADER-BLOCK-SIZE-POW2",
        r#"description: Block size 3 MiB (resealed).
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-header-field: {field: block-size, value: 3 MiB}}
    expect: [HEADER-BLOCK-SIZE-POW2]
"#,
    ),
    (
        "HEADER-BLOCK-SIZE-MIN",
        r#"description: Block size 256 bytes (resealed).
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-header-field: {field: block-size, value: 256}}
    expect: [HEADER-BLOCK-SIZE-MIN]
"#,
    ),
    (
        "HEADER-BLOCK-SIZE-SMALL",
        r#"description: "Block size 1 KiB: the sector bitmap is less than a byte."
seed: 1
expect_findings: [HEADER-BLOCK-SIZE-SMALL, FOOTER-SIZE-MIB-ALIGN]
image:
  type: dynamic
  size: 64 KiB
  block_size: 1 KiB
  writes:
    - {sector: 0, count: 3, pattern: {fill: 0x42}}
"#,
    ),
    (
        "HEADER-BLOCK-SIZE-UNUSUAL",
        r#"description: Block size 4 MiB.
seed: 1
expect_findings: [HEADER-BLOCK-SIZE-UNUSUAL]
image:
  type: dynamic
  size: 8 MiB
  block_size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
"#,
    ),
    (
        "HEADER-MAX-TABLE-ENTRIES-TOO-SMALL",
        r#"description: Max table entries 1 for a 4 MiB disk of 2 MiB blocks (resealed).
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-header-field: {field: max-table-entries, value: 1}}
    expect: [HEADER-MAX-TABLE-ENTRIES-TOO-SMALL]
"#,
    ),
    (
        "HEADER-MAX-TABLE-ENTRIES-TOO-LARGE",
        r#"description: Max table entries 4 for a disk that needs 2 blocks.
seed: 1
expect_findings: [HEADER-MAX-TABLE-ENTRIES-TOO-LARGE]
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
  header: {max_table_entries: 4}
"#,
    ),
    (
        "HEADER-MAX-TABLE-ENTRIES-LIMIT",
        r#"description: An empty 4 MiB dynamic disk whose max table entries (2000) make the BAT larger than the 2.5 KiB file (resealed).
seed: 1
image:
  type: dynamic
  size: 4 MiB
mutations:
  - op: {set-header-field: {field: max-table-entries, value: 2000}}
    expect: [HEADER-MAX-TABLE-ENTRIES-LIMIT]
"#,
    ),
    (
        "HEADER-RESERVED",
        r#"description: Header bytes 60..64 are 1 (resealed).
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-header-field: {field: reserved1, value: 1}}
    expect: [HEADER-RESERVED]
"#,
    ),
    (
        "HEADER-PARENT-ON-DYNAMIC",
        r#"description: A dynamic disk with a parent time stamp.
seed: 1
expect_findings: [HEADER-PARENT-ON-DYNAMIC]
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
  header: {parent_timestamp: 5}
"#,
    ),
    (
        "HEADER-PARENT-TIMESTAMP-FUTURE",
        r#"description: A differencing disk whose parent time stamp is in 2031.
seed: 1
expect_findings: [HEADER-PARENT-TIMESTAMP-FUTURE, CHAIN-PARENT-TIMESTAMP]
image:
  type: differencing
  size: 4 MiB
  header: {parent_timestamp: 1000000000}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "HEADER-PARENT-NAME-EMPTY",
        r#"description: A differencing disk with an empty parent unicode name (the locators still find the parent).
seed: 1
expect_findings: [HEADER-PARENT-NAME-EMPTY]
image:
  type: differencing
  size: 4 MiB
  header: {parent_name: ""}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "HEADER-PARENT-NAME-ENCODING",
        r#"description: A differencing disk whose parent unicode name is an unpaired surrogate.
seed: 1
expect_findings: [HEADER-PARENT-NAME-ENCODING]
image:
  type: differencing
  size: 4 MiB
  header: {parent_name_hex: "d800"}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "HEADER-PARENT-NAME-UNTERMINATED",
        r#"description: A differencing disk whose parent unicode name fills all 256 code units.
seed: 1
expect_findings: [HEADER-PARENT-NAME-UNTERMINATED, LOCATOR-PARENT-NAME-MISMATCH]
image:
  type: differencing
  size: 4 MiB
  header: {parent_name: "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "BAT-ENTRY-BOUNDS",
        r#"description: BAT entry 1 points so that block 1 ends inside the trailing footer.
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-bat-entry: {block: 1, to: into-footer}}
    expect: [BAT-ENTRY-BOUNDS]
"#,
    ),
    (
        "BAT-ENTRY-OVERLAP-METADATA",
        r#"description: BAT entry 0 points at the dynamic disk header.
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-bat-entry: {block: 0, to: header}}
    expect: [BAT-ENTRY-OVERLAP-METADATA]
"#,
    ),
    (
        "BAT-BLOCK-OVERLAP",
        r#"description: BAT entries 0 and 1 point at the same block.
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-bat-entry: {block: 1, to: {block: 0}}}
    expect: [BAT-BLOCK-OVERLAP]
"#,
    ),
    (
        "BAT-ENTRIES-BEYOND-SIZE",
        r#"description: Block 3 of a 4-entry BAT is allocated on a disk that needs 2 blocks.
seed: 1
expect_findings: [BAT-ENTRIES-BEYOND-SIZE, HEADER-MAX-TABLE-ENTRIES-TOO-LARGE, BITMAP-EMPTY-BLOCK]
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
  header: {max_table_entries: 4}
  allocate:
    - {block: 3}
"#,
    ),
    (
        "BAT-ENTRY-OVERFLOW",
        r#"description: "BAT entry 1 is sector 0xFFFFFFF0: the block's sectors pass 2^32."
seed: 1
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
mutations:
  - op: {set-bat-entry: {block: 1, to: {sector: 0xFFFFFFF0}}}
    expect: [BAT-ENTRY-OVERFLOW]
"#,
    ),
    (
        "BAT-BLOCK-UNALIGNED-GRID",
        r#"description: "512 free bytes between the blocks: they are not on one grid."
seed: 1
expect_findings: [BAT-BLOCK-UNALIGNED-GRID]
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
  layout: {gap_between_blocks: 512}
"#,
    ),
    (
        "BAT-PADDING",
        r#"description: The BAT's padding is 0xAB bytes.
seed: 1
expect_findings: [BAT-PADDING]
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
  layout: {bat_padding: 0xAB}
"#,
    ),
    (
        "BAT-ORDER",
        r#"description: Blocks in descending order in the file.
seed: 1
expect_findings: [BAT-ORDER]
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
  layout: {block_order: descending}
"#,
    ),
    (
        "BITMAP-ZERO-SECTOR-NONZERO",
        r#"description: A dynamic disk with data in sectors whose bitmap bits are clear.
seed: 1
expect_findings: [BITMAP-ZERO-SECTOR-NONZERO]
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 16, count: 8, pattern: {fill: 0x99}, bitmap: none}
"#,
    ),
    (
        "BITMAP-CLEAR-SECTOR-NONZERO-DIFF",
        r#"description: "A differencing disk with data under clear bits: readers take the parent's sectors."
seed: 1
expect_findings: [BITMAP-CLEAR-SECTOR-NONZERO-DIFF]
image:
  type: differencing
  size: 4 MiB
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
    - {sector: 24, count: 8, pattern: {fill: 0x88}, bitmap: none}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "BITMAP-EMPTY-BLOCK",
        r#"description: An allocated block with an all-zero bitmap.
seed: 1
expect_findings: [BITMAP-EMPTY-BLOCK]
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
  allocate:
    - {block: 1}
"#,
    ),
    (
        "BITMAP-PAST-END",
        r#"description: A 3 MiB disk whose last block has bits set for sectors past the end.
seed: 1
image:
  type: dynamic
  size: 3 MiB
  writes:
    - {sector: 4096, count: 8, pattern: {fill: 0x42}}
mutations:
  - op: {set-bitmap-bits: {block: 1, start: 2048, count: 8, value: true}}
    expect: [BITMAP-PAST-END]
"#,
    ),
    (
        "BITMAP-PADDING",
        r#"description: 512 KiB blocks whose bitmap padding (past the 1024 sector bits) is 0xFF.
seed: 1
expect_findings: [BITMAP-PADDING]
image:
  type: dynamic
  size: 2 MiB
  block_size: 512 KiB
  layout: {bitmap_padding: 0xFF}
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
"#,
    ),
    (
        "LOCATOR-PLATFORM-CODE",
        r#"description: A differencing disk with a locator of unknown platform code 0x12345678.
seed: 1
expect_findings: [LOCATOR-PLATFORM-CODE]
image:
  type: differencing
  size: 4 MiB
  locators:
    - {code: W2ru}
    - {code: 0x12345678, path: 'x'}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "LOCATOR-NONE-NONZERO",
        r#"description: A locator entry with platform code 0 but a data length and offset.
seed: 1
expect_findings: [LOCATOR-NONE-NONZERO]
image:
  type: differencing
  size: 4 MiB
  locators:
    - {code: W2ru}
    - {code: none, length: 5}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "LOCATOR-RESERVED",
        r#"description: Locator 0's reserved field is 1 (header resealed).
seed: 1
image:
  type: differencing
  size: 4 MiB
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
mutations:
  - op: {set-locator-field: {slot: 0, field: reserved, value: 1}}
    expect: [LOCATOR-RESERVED]
"#,
    ),
    (
        "LOCATOR-OFFSET-BOUNDS",
        r#"description: Locator 0's data offset lies past the end of the file (W2ru still resolves).
seed: 1
image:
  type: differencing
  size: 4 MiB
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
mutations:
  - op: {set-locator-field: {slot: 0, field: offset, value: 0x10000000}}
    expect: [LOCATOR-OFFSET-BOUNDS]
"#,
    ),
    (
        "LOCATOR-ZERO-FIELDS",
        r#"description: Locator 0's data length is 0.
seed: 1
image:
  type: differencing
  size: 4 MiB
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
mutations:
  - op: {set-locator-field: {slot: 0, field: length, value: 0}}
    expect: [LOCATOR-ZERO-FIELDS]
"#,
    ),
    (
        "LOCATOR-LENGTH-SPACE",
        r#"description: Locator 0's data length (1000) exceeds its space read as sectors and as bytes.
seed: 1
image:
  type: differencing
  size: 4 MiB
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
mutations:
  - op: {set-locator-field: {slot: 0, field: length, value: 1000}}
    expect: [LOCATOR-LENGTH-SPACE]
"#,
    ),
    (
        "LOCATOR-SPACE-UNITS",
        r#"description: A W2ru locator whose data space is recorded in bytes (1024), so read as sectors it would overlap the first block.
seed: 1
expect_findings: [LOCATOR-SPACE-UNITS]
image:
  type: differencing
  size: 4 MiB
  locators:
    - {code: W2ru, space: 1 KiB, space_units: bytes}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "LOCATOR-SPACE-UNREADABLE",
        r#"description: A W2ru locator whose data space field is 1000 (of 1 KiB reserved), neither sectors below 512 nor bytes in whole sectors.
seed: 1
image:
  type: differencing
  size: 4 MiB
  locators:
    - {code: W2ru, space: 1 KiB, space_units: bytes}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
mutations:
  - op: {set-locator-field: {slot: 0, field: space, value: 1000}}
    expect: [LOCATOR-SPACE-UNREADABLE]
"#,
    ),
    (
        "LOCATOR-OVERLAP",
        r#"description: Locator 0's data is moved onto the BAT.
seed: 1
image:
  type: differencing
  size: 4 MiB
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
mutations:
  - op: {set-locator-field: {slot: 0, field: offset, value: 1536}}
    expect: [LOCATOR-OVERLAP]
"#,
    ),
    (
        "LOCATOR-ALIGN",
        r#"description: A W2ru locator whose data starts at an unaligned offset.
seed: 1
expect_findings: [LOCATOR-ALIGN]
image:
  type: differencing
  size: 4 MiB
  locators:
    - {code: W2ru, offset: 0x10100}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "LOCATOR-ENCODING",
        r#"description: The W2ru locator's payload is an unpaired UTF-16 surrogate (the W2ku locator still resolves).
seed: 1
image:
  type: differencing
  size: 4 MiB
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
mutations:
  - op: {set-locator-payload: {slot: 1, hex: "00d8"}}
    expect: [LOCATOR-ENCODING]
"#,
    ),
    (
        "LOCATOR-W2RU-PREFIX",
        r#"description: A W2ru path without the leading `.\`.
seed: 1
expect_findings: [LOCATOR-W2RU-PREFIX]
image:
  type: differencing
  size: 4 MiB
  locators:
    - {code: W2ru, path: parent1.vhd}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "LOCATOR-DUPLICATE-CODE",
        r#"description: Two W2ru locators.
seed: 1
expect_findings: [LOCATOR-DUPLICATE-CODE]
image:
  type: differencing
  size: 4 MiB
  locators:
    - {code: W2ru}
    - {code: W2ru}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "LOCATOR-ON-DYNAMIC",
        r#"description: A dynamic disk with a W2ru parent locator.
seed: 1
expect_findings: [LOCATOR-ON-DYNAMIC]
image:
  type: dynamic
  size: 4 MiB
  writes:
    - {sector: 0, count: 8, pattern: {fill: 0x42}}
    - {sector: 4096, count: 16, pattern: {counter: 0}}
  locators:
    - {code: W2ru}
"#,
    ),
    (
        "LOCATOR-NONE-ON-DIFF",
        r#"description: A differencing disk without locators (the parent is found by its unicode name).
seed: 1
expect_findings: [LOCATOR-NONE-ON-DIFF, CHAIN-LOCATOR-UNRESOLVED]
image:
  type: differencing
  size: 4 MiB
  locators: []
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "LOCATOR-DEPRECATED-CODE",
        r#"description: A W2ru locator and a deprecated Wi2k one.
seed: 1
expect_findings: [LOCATOR-DEPRECATED-CODE]
image:
  type: differencing
  size: 4 MiB
  locators:
    - {code: W2ru}
    - {code: Wi2k}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "LOCATOR-PARENT-NAME-MISMATCH",
        r#"description: The parent unicode name says other.vhd; the locators name parent1.vhd.
seed: 1
expect_findings: [LOCATOR-PARENT-NAME-MISMATCH]
image:
  type: differencing
  size: 4 MiB
  header: {parent_name: other.vhd}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "CHAIN-PARENT-MISSING",
        r#"description: The parent file is deleted.
seed: 1
image:
  type: differencing
  size: 4 MiB
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
mutations:
  - op: {delete-file: {}}
    image: 1
    expect: [CHAIN-PARENT-MISSING]
"#,
    ),
    (
        "CHAIN-PARENT-OUTSIDE-SEARCH",
        r#"description: The parent file is deleted; its absolute W2ku locator path lies outside the child's directory and is refused unopened.
seed: 1
image:
  type: differencing
  size: 4 MiB
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
mutations:
  - op: {delete-file: {}}
    image: 1
    expect: [CHAIN-PARENT-MISSING, CHAIN-PARENT-OUTSIDE-SEARCH]
"#,
    ),
    (
        "CHAIN-PARENT-NOT-VHD",
        r#"description: The (fixed) parent's only footer has a bad cookie.
seed: 1
image:
  type: differencing
  size: 4 MiB
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: fixed
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
mutations:
  - op: {set-footer-field: {field: cookie, value: garbage!}}
    image: 1
    expect: [CHAIN-PARENT-NOT-VHD]
"#,
    ),
    (
        "CHAIN-PARENT-UUID",
        r#"description: The child's parent unique id names another disk.
seed: 1
expect_findings: [CHAIN-PARENT-UUID]
image:
  type: differencing
  size: 4 MiB
  header: {parent_unique_id: "11111111-2222-4333-8444-555555555555"}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "CHAIN-PARENT-UUID-NULL",
        r#"description: The child's parent unique id is all zero (blktap's raw-parent mark).
seed: 1
expect_findings: [CHAIN-PARENT-UUID-NULL]
image:
  type: differencing
  size: 4 MiB
  header: {parent_unique_id: "00000000000000000000000000000000"}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "CHAIN-PARENT-TIMESTAMP",
        r#"description: The child's parent time stamp is one second off the parent footer's.
seed: 1
expect_findings: [CHAIN-PARENT-TIMESTAMP]
image:
  type: differencing
  size: 4 MiB
  header: {parent_timestamp: 200000000}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "CHAIN-SIZE-CHILD-SMALLER",
        r#"description: A 4 MiB child of an 8 MiB parent.
seed: 1
expect_findings: [CHAIN-SIZE-CHILD-SMALLER]
image:
  type: differencing
  size: 4 MiB
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 8 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "CHAIN-SIZE-CHILD-LARGER",
        r#"description: An 8 MiB child of a 4 MiB parent (the parent's end reads as zeros).
seed: 1
expect_findings: [CHAIN-SIZE-CHILD-LARGER]
image:
  type: differencing
  size: 8 MiB
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "CHAIN-LOCATOR-UNRESOLVED",
        r#"description: The only locator names a missing file; the parent is found by its unicode name.
seed: 1
expect_findings: [CHAIN-LOCATOR-UNRESOLVED, LOCATOR-PARENT-NAME-MISMATCH]
image:
  type: differencing
  size: 4 MiB
  locators:
    - {code: W2ru, path: '.\\missing.vhd'}
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "CHAIN-BLOCK-SIZE-MISMATCH",
        r#"description: A child with 512 KiB blocks over a parent with 2 MiB blocks.
seed: 1
expect_findings: [CHAIN-BLOCK-SIZE-MISMATCH]
image:
  type: differencing
  size: 4 MiB
  block_size: 512 KiB
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "CHAIN-CYCLE",
        r#"description: "The parent is made a differencing disk whose parent is the child: A -> B -> A."
seed: 1
image:
  type: differencing
  size: 4 MiB
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
mutations:
  - op: {make-cycle: {to: 0}}
    image: 1
    expect: [CHAIN-CYCLE]
"#,
    ),
    (
        "CHAIN-DEPTH",
        r#"description: A chain of three images checked with a depth limit of 2.
seed: 1
expect_findings: [CHAIN-DEPTH]
check: {max_depth: 2}
image:
  type: differencing
  size: 4 MiB
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: differencing
    size: 4 MiB
    writes:
      - {sector: 0, count: 8, pattern: {fill: 0x33}}
    parent:
      type: dynamic
      size: 4 MiB
      writes:
        - {sector: 0, count: 64, pattern: {counter: 5}}
"#,
    ),
    (
        "CHAIN-ERROR-IN-PARENT",
        r#"description: The parent's dynamic disk header checksum is broken.
seed: 1
image:
  type: differencing
  size: 4 MiB
  writes:
    - {sector: 8, count: 8, pattern: {fill: 0x77}}
  parent:
    type: dynamic
    size: 4 MiB
    writes:
      - {sector: 0, count: 64, pattern: {counter: 5}}
mutations:
  - op: {break-header-checksum: {}}
    image: 1
    expect: [CHAIN-ERROR-IN-PARENT, HEADER-CHECKSUM]
"#,
    ),
];

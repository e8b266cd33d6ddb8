// Package tailer reads log files line by line and hands them to the pipeline
// in batches, with checkpoints that only ever record acknowledged offsets.
//
// Two entry points share the same line rules (a line ends at '\n', a
// trailing '\r' is dropped, lines longer than max_line_bytes are truncated
// and tagged shipper.TagLineTruncated, empty lines are skipped unless a
// Framer sees them) and the same framing:
//
//   - ReadFile reads one file (plain or gzip) once, for `shipper dry-run` and
//     `shipper test`. It keeps no state; the File.ID it assigns is derived
//     from the file's content only, so it is the same on every machine.
//   - Tailer follows the files matched by a set of inputs: discovery by glob
//     (with **), fsnotify plus a slow rescan, identity by device, inode and a
//     growing fingerprint, lossless rotation, an on-disk registry of
//     acknowledged offsets, and backpressure from the bounded output
//     channels and an in-flight byte budget.
//
// See design.md for the guarantees, the registry format and the known
// limitations.
package tailer

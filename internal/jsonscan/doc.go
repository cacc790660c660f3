// Package jsonscan walks JSON text without decoding it, for the two things
// the standard decoder cannot do cheaply or at all.
//
// Splitting (split.go): it finds where JSON values end, validating them as
// it goes, in one pass and without allocating: enough to split a Socket.IO
// packet's argument array into its elements (aliasing the input) and to walk
// an object's members, so that a payload is scanned once and decoded once
// instead of being unmarshalled to validate it and again to use it. It
// accepts exactly what encoding/json accepts (json.Valid): RFC 8259 syntax,
// any byte from 0x20 up inside strings (invalid UTF-8 included, as
// encoding/json does), nesting up to 10,000 levels. The fuzz tests hold it
// to encoding/json's answers.
//
// Naming problems (text.go): it names the exact place of a problem the
// decoder either hides or names vaguely:
//
//   - Text finds the first string (a value or a member name) that is not
//     clean text: invalid UTF-8 and unpaired surrogate escapes, which
//     encoding/json silently turns into U+FFFD, and NUL and other control
//     characters, which it passes through. Tab, line feed and carriage
//     return are allowed (message texts have lines); CheckLine refuses them
//     too, for names and ids.
//   - PathAt names the innermost value at a byte offset, such as the Offset
//     of a json.UnmarshalTypeError, with array indices ("a.b[2].c"), which
//     the decoder's own Field leaves out.
//
// Paths join member names with "." and write array elements as "[i]"; the
// root is "". Input that is not JSON yields no problem and no path: the
// decoder that runs next reports its syntax. The walk allocates only to
// build the path of what it found.
package jsonscan
